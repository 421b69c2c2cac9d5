package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
)

var snapshotCommand = command{
	name:     "snapshot",
	synopsis: "snapshot --live [--output-file FILE] [--config FILE] [configuration flags]",
	help: `Writes a snapshot of the account (see docs/snapshot-format.md) that plan
--snapshot and the EC2 simulator read: every instance in any state, network
interface, security group, network ACL, subnet and traffic mirror target,
filter and session, and what those name: the instance types in use, the
prefix lists the groups' rules name, the Gateway Load Balancer endpoints and
Network Load Balancers (with their listeners) the targets point at.

--live, required, reads the real account (default credential chain,
--region, --profile) with Describe and Get calls only: it changes nothing.
The calls are made one after another, so a change made meanwhile may show
half; take the snapshot again for a consistent view.

The snapshot's Config is --config FILE (the Config JSON object) with the
configuration flags applied, as plan takes them. Without --config it is the
Configuration output of the stack (--stack) with the flags applied. With
neither, the snapshot has no Config, and stderr says so: plan --snapshot
then needs --filter-id or --config.

--output-file FILE is written once the whole account is read; without it
the snapshot goes to stdout.

Exit codes: 0 written; 2 for a bad flag, a --config file that cannot be read
or is malformed, or an --output-file whose directory does not exist (nothing
is read or written); 3 when AWS refused or could not be reached.`,
	run: runSnapshot,
}

// snapshotFlags are snapshot's own flags, and the configuration flags it
// shares with plan.
type snapshotFlags struct {
	configFlags
	live       bool
	outputFile string
}

func runSnapshot(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	f := snapshotFlags{configFlags: configFlags{set: map[string]bool{}}}
	fs.BoolVar(&f.live, "live", false, "read the real account, with Describe and Get calls only (required)")
	fs.StringVar(&f.outputFile, "output-file", "", "write the snapshot to `FILE` (default: stdout)")
	f.register(fs, "configuration `FILE`: the Config JSON object to record (instead of the stack's Configuration output)")
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if err := f.check(); err != nil {
		return err
	}
	// --config is read before AWS is called, so a bad file costs no call.
	var cfg *config.Config
	if f.configFile != "" {
		c, err := f.resolve(nil, "")
		if err != nil {
			return err
		}
		cfg = &c
	}

	awsCfg, err := a.loadAWSConfig(ctx, g)
	if err != nil {
		return err
	}
	source := "--config " + f.configFile
	if f.configFile == "" {
		if cfg, source, err = a.deployedConfig(ctx, g, &f.configFlags, awsCfg); err != nil {
			return err
		}
	}
	api, lb := a.accountClients(awsCfg)
	snap, err := snapshot.Take(ctx, api, lb)
	if err != nil {
		// Explain says why in a person's terms and drops the rest; the call
		// it refused is what an IAM policy must then allow.
		what := "taking the snapshot"
		var op *smithy.OperationError
		if errors.As(err, &op) {
			what += ": " + op.Service() + " " + op.Operation()
		}
		return fmt.Errorf("%s: %w", what, operate.Explain(err))
	}
	snap.Config = cfg

	where := "stdout"
	if f.outputFile == "" {
		if err := snap.Encode(a.stdout); err != nil {
			return err
		}
	} else {
		if err := snap.Save(f.outputFile); err != nil {
			return err
		}
		where = f.outputFile
	}
	instances := 0
	for _, r := range snap.Reservations {
		instances += len(r.Instances)
	}
	a.complain("mirrorctl snapshot: wrote %d instances, %d network interfaces, %d traffic mirror targets and %d sessions to %s",
		instances, len(snap.NetworkInterfaces), len(snap.TrafficMirrorTargets), len(snap.TrafficMirrorSessions), where)
	if cfg == nil {
		a.complain(", without Config: %s. plan --snapshot (and coverage) will need --filter-id tmf-... "+
			"(with --target-id or --sensor-tag) or --config FILE.\n", source)
		return nil
	}
	a.complain(", with the Config of %s.\n", source)
	return nil
}

// check rejects flags snapshot cannot honour and an --output-file it could
// not write, before any file is read or AWS is called.
func (f *snapshotFlags) check() error {
	if !f.live {
		return usagef("give --live: snapshot reads the real account (Describe and Get calls only)")
	}
	for _, name := range []string{"state-machine", "queue-url"} {
		if f.set[name] {
			return usagef("--%s does not apply to snapshot, which reads no state machine or queue", name)
		}
	}
	if f.set["output"] {
		return usagef("--output does not apply to snapshot, which always writes JSON; name its file with --output-file")
	}
	if f.outputFile == "" {
		return nil
	}
	dir := filepath.Dir(f.outputFile)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return usagef("--output-file %s: the directory %s does not exist", f.outputFile, dir)
	}
	if info, err := os.Stat(f.outputFile); err == nil && info.IsDir() {
		return usagef("--output-file %s is a directory; name a file in it", f.outputFile)
	}
	return nil
}

// deployedConfig is the configuration to record when --config is not
// given: the stack's Configuration output with the flags applied, and
// where it came from (or, when nil, why there is none). A stack that does
// not exist is no error unless --stack named it: a snapshot is as useful
// before the first deploy.
func (a *app) deployedConfig(ctx context.Context, g *globals, f *configFlags, awsCfg aws.Config) (*config.Config, string, error) {
	cfn := cloudformation.NewFromConfig(awsCfg, func(o *cloudformation.Options) {
		a.overrideEndpoint(cloudformation.ServiceID, &o.BaseEndpoint)
	})
	var base *config.Config
	source := fmt.Sprintf("the %s output of stack %s", operate.OutputConfiguration, g.stack)
	d, err := operate.DeploymentFromStack(ctx, cfn, g.stack)
	switch {
	case errors.Is(err, operate.ErrStackNotFound) && !f.set["stack"]:
		source = fmt.Sprintf("stack %s does not exist in %s (--stack names another)", g.stack, awsCfg.Region)
	case err != nil:
		return nil, "", err
	default:
		if base, err = d.Config(); err != nil {
			return nil, "", fmt.Errorf("reading the configuration of stack %s: %w", g.stack, err)
		}
		if base == nil {
			source = fmt.Sprintf("stack %s has no %s output (it was deployed before it had one)", g.stack, operate.OutputConfiguration)
		}
	}
	if !f.given() {
		return base, source, nil
	}
	cfg, err := f.resolve(base, source)
	if err != nil {
		return nil, "", err
	}
	if base == nil {
		return &cfg, "the configuration flags", nil
	}
	return &cfg, source + " and the configuration flags", nil
}
