package stack

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// ContextKey is the cdk.json context key holding the configuration: an
// object with the snapshot Config keys (FilterId, TargetIds, SensorTag,
// LocalZoneOnly, SessionNumber, ExcludeTag, Interfaces, Rules), validated by
// config.Parse so that a typo or a bad rule stops the synth.
const ContextKey = "mirrorflow"

// AssetRootContextKey optionally overrides DefaultAssetRoot, for a synth
// from bootstraps built elsewhere (cdk synth -c mirrorflow:assetRoot=DIR).
const AssetRootContextKey = "mirrorflow:assetRoot"

// ReservedConcurrencyContextKey optionally sets the reserved concurrency of
// every step's function (cdk.json "mirrorflow:reservedConcurrency", or
// cdk synth -c mirrorflow:reservedConcurrency=N).
const ReservedConcurrencyContextKey = "mirrorflow:reservedConcurrency"

// DefaultReservedConcurrency is each step's reserved concurrency when the
// context sets none: 7 steps x 20 = 140 of the 1,000 concurrent executions
// an account has by default, enough to keep EC2's buckets busy through a
// burst (statemachine's retry budgets say why) while the account's other
// functions keep the rest.
const DefaultReservedConcurrency = 20

// maxReservedConcurrency is the most the stack's functions may reserve
// together in an account with Lambda's default quota: 1,000 concurrent
// executions, of which Lambda keeps 100 unreserved ("Lambda quotas";
// "Configuring reserved concurrency").
const maxReservedConcurrency = 900

// ReservedConcurrencyFromContext is the reserved concurrency under
// ReservedConcurrencyContextKey, or DefaultReservedConcurrency when it is
// unset. A number in cdk.json and a string on the command line are both
// read; anything but a whole number of at least 1 stops the synth (New
// checks that the steps' total fits the account).
func ReservedConcurrencyFromContext(node constructs.Node) (int, error) {
	v := node.TryGetContext(jsii.String(ReservedConcurrencyContextKey))
	var n float64
	switch x := v.(type) {
	case nil:
		return DefaultReservedConcurrency, nil
	case float64:
		n = x
	case string:
		parsed, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("reading context %q: %q is not a number", ReservedConcurrencyContextKey, x)
		}
		n = parsed
	default:
		return 0, fmt.Errorf("reading context %q: want a whole number of concurrent executions, not %T", ReservedConcurrencyContextKey, v)
	}
	if n != math.Trunc(n) || n < 1 || n > math.MaxInt32 {
		return 0, fmt.Errorf("reading context %q: %v is not a whole number of concurrent executions of at least 1", ReservedConcurrencyContextKey, n)
	}
	return int(n), nil
}

// AssetRootFromContext is the asset root under AssetRootContextKey, or
// DefaultAssetRoot when it is unset.
func AssetRootFromContext(node constructs.Node) (string, error) {
	switch v := node.TryGetContext(jsii.String(AssetRootContextKey)).(type) {
	case nil:
		return DefaultAssetRoot, nil
	case string:
		if v == "" {
			return DefaultAssetRoot, nil
		}
		return v, nil
	default:
		return "", fmt.Errorf("reading context %q: want a directory path, not %T", AssetRootContextKey, v)
	}
}

// ConfigFromContext reads and validates the configuration under ContextKey.
// The value is an object in cdk.json, or the same object as a JSON string
// when given on the command line (cdk synth -c mirrorflow='{...}').
func ConfigFromContext(node constructs.Node) (config.Config, error) {
	v := node.TryGetContext(jsii.String(ContextKey))
	if v == nil {
		return config.Config{}, fmt.Errorf(`reading context %q: not set; add it to cdk.json or pass -c %s='{"FilterId":"tmf-..."}'`, ContextKey, ContextKey)
	}
	var data []byte
	switch x := v.(type) {
	case string:
		data = []byte(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return config.Config{}, fmt.Errorf("reading context %q: encoding %T: %w", ContextKey, x, err)
		}
		data = b
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return config.Config{}, fmt.Errorf("reading context %q: %w", ContextKey, err)
	}
	return cfg, nil
}
