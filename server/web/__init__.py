"""Server-rendered portal pages (Chinese, the seed's wording) and their local static files."""
