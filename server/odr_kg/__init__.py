"""odr-kg: a legal knowledge graph of how disputes on Alibaba.com are resolved."""
