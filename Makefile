# Convenience targets; each is a script CI or users run directly.
export GOEXPERIMENT := simd

.PHONY: demo test test-go parity lab build bench
demo:        ## install everything and run the tutorial notebook
	./scripts/demo.sh
test:        ## the whole suite, as CI runs it
	./scripts/test.sh
test-go:     ## Go tests only
	./scripts/test.sh go
parity:      ## real-weights parity suite against Python (issue 7)
	./scripts/parity.sh
lab:         ## open JupyterLab on the notebooks
	./kernel/install.sh && kernel/.venv/bin/jupyter lab notebooks/
build:
	go build -o bin/embedtune ./cmd/embedtune
bench:
	go test -run '^$$' -bench . -benchtime 3x ./trainlib/...
