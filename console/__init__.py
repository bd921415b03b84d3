"""heatrack application core: site model, engine, store, CLI. Qt-free outside console/ui."""
