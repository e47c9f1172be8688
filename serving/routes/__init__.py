"""The service's routes, one router per concern; serving/app.py includes them."""
