"""Silver: cleaned, typed, de-duplicated, PII-masked tables, and the multi-source customer activity."""

from lakehouse.silver.assets import BehaviorEventsConfig, CustomerActivityConfig, OrdersConfig
from lakehouse.silver.definitions import silver_assets, silver_definitions

__all__ = ["BehaviorEventsConfig", "CustomerActivityConfig", "OrdersConfig", "silver_assets", "silver_definitions"]
