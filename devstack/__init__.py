"""The local stack: moto server, resources from the stack's own definitions, the API on
localhost, drivers that do what AWS wiring does in the cloud, and demo data."""
