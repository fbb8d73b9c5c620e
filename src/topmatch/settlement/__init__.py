"""Fee agreements and settlement: what a placement costs, who owes whom, and paying it."""
