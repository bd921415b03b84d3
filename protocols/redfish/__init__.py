"""Redfish: the BMC client (client.py) and, beside it, the demo site's Redfish service."""
