# The two commands: `make dev` (run the whole product locally) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FONT := chalicelib/render/built/NotoSansSC-common.otf
READY := $(STAMP) $(FONT)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled

.PHONY: dev test test-unit test-integration test-e2e test-infra fuzz synth synth-ap-east-1 lint bench soak clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip<26.3'  # chalice package shells out to pip and supports < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(FONT): $(STAMP) ## the common subset of the CJK font that PDFs are drawn with (chalicelib/render/fonts.py)
	$(PY) -m chalicelib.render.fonts build

install: $(READY)

dev: $(READY) ## moto server + resources + demo data + drivers + API on http://127.0.0.1:8000 (LOCALSTACK=url: a LocalStack instead of moto)
	$(PY) -m devstack.run $(if $(LOCALSTACK),--localstack $(LOCALSTACK))

test: $(READY) ## unit, integration (moto), e2e (local stack over HTTP) and infrastructure tests, two workers (a file each at a time)
	$(PY) -m pytest -n 2 --dist loadfile

test-unit: $(READY)
	$(PY) -m pytest tests/unit

test-integration: $(READY)
	$(PY) -m pytest tests/integration

test-e2e: $(READY)
	$(PY) -m pytest tests/e2e

test-infra: $(READY)
	$(PY) -m pytest tests/infrastructure

fuzz: $(READY) ## schemathesis, wider than in `make test`: a random seed (CRM_FUZZ_SEED=<n> replays one), 50 examples, nulls in bodies
	@seed=$${CRM_FUZZ_SEED:-$$($(PY) -c 'import secrets; print(secrets.randbelow(2**31))')}; \
	echo "fuzz seed: $$seed  (replay: make fuzz CRM_FUZZ_SEED=$$seed)"; \
	CRM_FUZZ_SEED=$$seed CRM_FUZZ_EXAMPLES=$${CRM_FUZZ_EXAMPLES:-50} CRM_FUZZ_NULLS=1 $(PY) -m pytest tests/e2e/test_fuzz.py -p no:cacheprovider; \
	status=$$?; echo "fuzz seed: $$seed"; exit $$status

synth: $(READY) ## synthesize the CDK stacks offline (data, stage, monitoring; dummy credentials)
	AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline AWS_DEFAULT_REGION=ap-southeast-1 $(PY) infra/app.py

synth-ap-east-1: $(READY) ## the same synthesis for Hong Kong (ap-east-1, an opt-in region) into infra/cdk.out.ap-east-1
	AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline AWS_DEFAULT_REGION=ap-east-1 CDK_OUTDIR=$(CURDIR)/infra/cdk.out.ap-east-1 $(PY) infra/app.py

lint: $(READY) ## ruff on the code, then CDK synth + cfn-lint on the templates, for ap-southeast-1 and ap-east-1 (cn-northwest-1: tests/infrastructure/test_china.py)
	$(VENV)/bin/ruff check .
	$(MAKE) synth
	$(VENV)/bin/cfn-lint --non-zero-exit-code error infra/cdk.out/*.template.json --regions ap-southeast-1
	$(MAKE) synth-ap-east-1
	$(VENV)/bin/cfn-lint --non-zero-exit-code error infra/cdk.out.ap-east-1/*.template.json --regions ap-east-1

bench: $(READY) ## budgets of ARCHITECTURE.md §10 as figures
	$(PY) -m bench

soak: $(READY) ## the local stack under 5,000 mixed calls (CALLS=n): memory, latency drift, reminder lateness
	$(PY) -m bench.soak $${CALLS:-5000}

clean:
	rm -rf $(VENV) infra/cdk.out infra/cdk.out.ap-east-1 .pytest_cache .hypothesis .local chalicelib/render/built
