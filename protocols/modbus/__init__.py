"""Modbus TCP: register-map profiles, the heat-controller/heat-meter client and the demo server."""
