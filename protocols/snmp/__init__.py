"""SNMP: the UPS/PDU client (client.py, profiles in resources/profiles/snmp) and, beside it,
the demo site's agent (agent.py)."""
