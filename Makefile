# Each target is one line; the work is in scripts/.
.PHONY: dev dev-check test bench fuzz lint

dev: ## Run the whole stack locally: DynamoDB Local, WeChat sandbox, cargo lambda watch
	@scripts/dev.sh

dev-check: ## Start the stack, run README.md's walk against it (each answer checked), stop
	@scripts/dev.sh --check

test: ## Install what is missing, start DynamoDB Local, run every test (README.md's walk included)
	@scripts/test.sh

bench: ## Init time, per-request overhead, memory and arm64 size beside the floor and Node
	@scripts/bench.sh

fuzz: ## Run each cargo-fuzz target for FUZZ_SECONDS (60) on nightly
	@scripts/fuzz.sh

lint: ## Formatting and clippy, as CI runs them
	@cargo fmt --all -- --check && cargo clippy --workspace --all-targets --locked -- -D warnings
