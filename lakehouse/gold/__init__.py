"""Gold: the star schema. Conformed dimensions (SCD2 customers, products, dates) and facts.

Pure DataFrame logic, no Dagster: ``scd2`` (dim_customer's history), ``products`` (dim_product's rows),
``calendar`` (dim_date), ``star`` (the facts' rows and keys), ``reconciliation`` (facts against silver).
Writes: ``merges`` (the ``MERGE`` statements and what they did). ``checks``: the blocking checks.
One asset per table: ``dim_customer``, ``dim_product``, ``dim_date``, ``fact_orders``,
``fact_customer_activity``; ``definitions.gold_assets()`` / ``gold_definitions()`` hand them out.
"""
