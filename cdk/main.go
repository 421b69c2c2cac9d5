// Command cdk synthesizes the mirrorflow stack; cdk.json runs it as
// `go run ./cdk`. The configuration comes from the cdk.json context key
// "mirrorflow", and a bad one stops the synth with the reason.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/cdk/stack"
)

func main() {
	if err := run(); err != nil {
		jsii.Close()
		fmt.Fprintln(os.Stderr, "mirrorflow:", err)
		os.Exit(1)
	}
	jsii.Close()
}

func run() error {
	app := awscdk.NewApp(nil)
	cfg, err := stack.ConfigFromContext(app.Node())
	if err != nil {
		return err
	}
	assets, err := stack.AssetRootFromContext(app.Node())
	if err != nil {
		return err
	}
	reconcile, err := stack.ReconcileFromContext(app.Node())
	if err != nil {
		return err
	}
	concurrency, err := stack.ReservedConcurrencyFromContext(app.Node())
	if err != nil {
		return err
	}
	notifications, err := stack.NotificationsFromContext(app.Node())
	if err != nil {
		return err
	}
	alarms, err := stack.AlarmsFromContext(app.Node())
	if err != nil {
		return err
	}
	if _, err := stack.New(app, stack.Name, stack.Props{
		StackProps: awscdk.StackProps{
			Description: jsii.String("mirrorflow: places a VPC Traffic Mirroring session for every EC2 instance that starts running."),
		},
		Config:              cfg,
		AssetRoot:           assets,
		ReservedConcurrency: concurrency,
		Reconcile:           reconcile,
		Notifications:       notifications,
		Alarms:              alarms,
	}); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}
