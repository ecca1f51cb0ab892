"""Gold: the star schema. Conformed dimensions (SCD2 customers, products, dates) and facts."""
