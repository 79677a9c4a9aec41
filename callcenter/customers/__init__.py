"""Customer master data: sold-to customers, partner functions, contacts, phones,
addresses, installed products, duplicates, merges and change history."""
