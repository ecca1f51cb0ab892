"""Reference data the generator draws from: the valid domains of coded columns and word lists.

The domains here are the truth the dirt is defined against: an injected ``unknown_enum`` value is
outside ``ENUM_DOMAINS``, a ``bad_country_code`` is not an ISO-3166 alpha-2 shape, and so on.
"""

from __future__ import annotations

from types import MappingProxyType

SEGMENTS = ("consumer", "small_business", "enterprise")
LOYALTY_TIERS = ("none", "silver", "gold", "platinum")
ORDER_STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
CHANNELS = ("web", "mobile", "store")
EVENT_TYPES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "purchase",
)
DEVICES = ("desktop", "mobile", "tablet")

# Keyed by (qualified table name, column) so checks can look a domain up from a spec.
ENUM_DOMAINS = MappingProxyType(
    {
        ("RETAIL.CRM.CUSTOMERS", "SEGMENT"): SEGMENTS,
        ("RETAIL.CRM.CUSTOMERS", "LOYALTY_TIER"): LOYALTY_TIERS,
        ("RETAIL.SALES.ORDERS", "STATUS"): ORDER_STATUSES,
        ("RETAIL.SALES.ORDERS", "CHANNEL"): CHANNELS,
        ("analytics.web.behavior_events", "event_type"): EVENT_TYPES,
        ("analytics.web.behavior_events", "device"): DEVICES,
    }
)

# (ISO-3166 alpha-2, ISO-4217 currency, cities); an order is priced in its customer's currency.
COUNTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("US", "USD", ("New York", "Chicago", "Austin", "Seattle", "Denver")),
    ("GB", "GBP", ("London", "Manchester", "Leeds", "Bristol")),
    ("DE", "EUR", ("Berlin", "Munich", "Hamburg", "Cologne")),
    ("FR", "EUR", ("Paris", "Lyon", "Marseille")),
    ("NL", "EUR", ("Amsterdam", "Rotterdam", "Utrecht")),
    ("ES", "EUR", ("Madrid", "Barcelona", "Valencia")),
    ("IT", "EUR", ("Rome", "Milan", "Turin")),
    ("IE", "EUR", ("Dublin", "Cork")),
    ("CA", "CAD", ("Toronto", "Vancouver", "Montreal")),
    ("AU", "AUD", ("Sydney", "Melbourne", "Brisbane")),
    ("JP", "JPY", ("Tokyo", "Osaka")),
    ("SE", "SEK", ("Stockholm", "Gothenburg")),
    ("PL", "PLN", ("Warsaw", "Krakow")),
    ("BR", "BRL", ("Sao Paulo", "Rio de Janeiro")),
    ("IN", "INR", ("Mumbai", "Bengaluru", "Delhi")),
)
# Relative weight of each country in the customer base, same order as COUNTRIES.
COUNTRY_WEIGHTS = (30, 10, 10, 7, 5, 5, 5, 2, 6, 5, 4, 3, 3, 3, 2)
COUNTRY_CODES = tuple(code for code, _, _ in COUNTRIES)

CATALOG_CURRENCY = "USD"
# Units of each currency per US dollar; fixed, so order prices are reproducible.
FX_PER_USD = MappingProxyType(
    {
        "USD": 1.0,
        "GBP": 0.79,
        "EUR": 0.92,
        "CAD": 1.36,
        "AUD": 1.52,
        "JPY": 150.0,
        "SEK": 10.4,
        "PLN": 3.98,
        "BRL": 5.0,
        "INR": 83.0,
    }
)
CURRENCIES = tuple(FX_PER_USD)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Mia", "Mateo", "Isabella", "Levi", "Charlotte", "Leo", "Luna", "James", "Harper", "Ethan",
    "Aiko", "Hiro", "Priya", "Arjun", "Sofia", "Luca", "Lena", "Jonas", "Chloe", "Hugo",
    "Maja", "Jakub", "Ana", "Pedro", "Saoirse", "Cian", "Fatima", "Omar", "Ingrid", "Lars",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Lopez",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Walker", "Hall", "Young",
    "Muller", "Schmidt", "Dubois", "Rossi", "Bianchi", "DeVries", "Jansen", "Murphy", "Kelly", "Sato",
    "Tanaka", "Sharma", "Patel", "Silva", "Santos", "Nowak", "Kowalski", "Andersson", "Nilsson", "Khan",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("electronics", ("Headphones", "Speaker", "Charger", "Tablet", "Smartwatch", "Camera")),
    ("home", ("Lamp", "Blender", "Kettle", "Cushion", "Vase", "Toaster")),
    ("apparel", ("Jacket", "Sneakers", "T-Shirt", "Jeans", "Scarf", "Backpack")),
    ("sports", ("Yoga Mat", "Dumbbell", "Bike Helmet", "Tennis Racket", "Water Bottle")),
    ("beauty", ("Shampoo", "Face Cream", "Perfume", "Lip Balm")),
    ("books", ("Cookbook", "Novel", "Atlas", "Notebook")),
    ("toys", ("Puzzle", "Building Set", "Plush Bear", "Board Game")),
    ("grocery", ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate")),
)
BRANDS = (
    "Acme", "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
)  # fmt: skip
ADJECTIVES = ("Classic", "Pro", "Eco", "Ultra", "Mini", "Deluxe", "Smart", "Everyday")

SEARCH_TERMS = (
    "headphones", "running+shoes", "coffee", "gift+ideas", "yoga", "lamp", "jacket", "sale",
    "board+games", "face+cream", "backpack", "tea",
)  # fmt: skip
SHOP_URL = "https://shop.example.com"

# Ids from here up to a billion more never exist in the source: orphan foreign keys are drawn from here.
ORPHAN_ID_BASE = 900_000_000_000
# Keys from here up are reserved for invalid rows whose change column is NULL (see ``dirt``): no valid row
# and no orphan reference ever has one.
UNDATED_KEY_BASE = 10**16
