# The two commands (see README.md): `make demo` and `make test`.
.PHONY: demo test setup bench

setup:
	@bash .ci/setup

demo:
	@bash .ci/setup --gui
	@.venv/bin/heatrack demo

test:
	@bash .ci/setup
	@QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest $(PYTEST_ARGS)

bench:
	@bash .ci/setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; QT_QPA_PLATFORM=offscreen .venv/bin/python $$b || exit 1; done
