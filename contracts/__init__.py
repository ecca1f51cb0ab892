"""The table contracts as package data: this folder is installed as ``lakehouse.contract_files``.

``lakehouse.contracts.contracts_dir()`` finds it with ``importlib.resources``, in a wheel and in an
editable install alike. It holds no code: only ``<layer>/<table>.yaml`` contracts, their
``<table>.expectations.json`` extra expectations and the JSON Schemas of both.
"""
