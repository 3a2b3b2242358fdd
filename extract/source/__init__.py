"""The FlightDeck API: the HTTP client (paging, rate limits, retries), decoding answer
bodies, and parsing sample texts into raw rows."""
