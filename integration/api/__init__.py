"""The REST API for the ERP and carriers (DRF). Thin: views parse, call one service, serialize."""
