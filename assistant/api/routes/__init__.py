"""One module per group of routes; app.py includes their routers."""
