"""Who read or changed which card-box record: ids and field names, never the values."""
