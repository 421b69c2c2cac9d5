package stack

import (
	"encoding/json"
	"fmt"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// ContextKey is the cdk.json context key holding the configuration: an
// object with the snapshot Config keys (FilterId, TargetIds, SensorTag,
// LocalZoneOnly, SessionNumber).
const ContextKey = "mirrorflow"

// AssetRootContextKey optionally overrides DefaultAssetRoot, for a synth
// from bootstraps built elsewhere (cdk synth -c mirrorflow:assetRoot=DIR).
const AssetRootContextKey = "mirrorflow:assetRoot"

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
