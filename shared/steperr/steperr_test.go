package steperr_test

import (
	"slices"

	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"

	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
)

// allNamed holds one value of every error type steperr exports;
// TestAllNamedListsEveryExportedErrorType keeps it complete.
var allNamed = []error{
	&steperr.InvalidInput{},
	&steperr.InvalidConfiguration{},
	&steperr.NoReachableSensor{},
	&steperr.SensorFull{},
	&steperr.EC2Throttled{},
	&steperr.EC2Unavailable{},
	&steperr.EC2Rejected{},
}

// sdkErr is err as an EC2 client call returns it.
func sdkErr(err error) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeInstances", Err: err}
}

// sendErr is a request that never got an answer, as the SDK wraps it.
func sendErr(err error) error {
	return &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://ec2.eu-west-1.amazonaws.com/", Err: err}}
}

func connRefused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
}

// quotaErr is what the SDK's retry middleware returns when its retry quota
// is spent: the attempt's error joined with the rate limiter's.
func quotaErr(attempt error) error {
	return errors.Join(attempt, fmt.Errorf("failed to get rate limit token, %w",
		ratelimit.QuotaExceededError{Available: 0, Requested: 5}))
}

func TestFromEC2(t *testing.T) {
	const op = "describing instance i-0a1b2c3d"
	// outcome is what the state machine and a reader learn from FromEC2's result.
	type outcome struct {
		Type          string // the errorType Lambda reports
		Code          string // EC2Rejected's Code
		WrapsOriginal bool   // errors.Is reaches the SDK error
		KeepsAPIError bool   // errors.As still finds the smithy.APIError, when there was one
		NamesOp       bool
	}
	tests := []struct {
		name string
		err  error
		want outcome
	}{
		{
			name: "RequestLimitExceeded is throttling",
			err:  sdktest.APIError(awserr.RequestLimitExceeded),
			want: outcome{Type: "EC2Throttled"},
		},
		{
			name: "RequestLimitExceeded is throttling although EC2 answers it with HTTP 503",
			err:  sdkErr(sdktest.HTTPError(503, sdktest.APIError(awserr.RequestLimitExceeded))),
			want: outcome{Type: "EC2Throttled"},
		},
		{
			name: "Throttling is throttling",
			err:  sdkErr(sdktest.HTTPError(400, sdktest.APIError(awserr.Throttling))),
			want: outcome{Type: "EC2Throttled"},
		},
		{
			name: "throttling that outlived the SDK's retries is still throttling",
			err:  sdkErr(&retry.MaxAttemptsError{Attempt: 3, Err: sdktest.HTTPError(503, sdktest.APIError(awserr.RequestLimitExceeded))}),
			want: outcome{Type: "EC2Throttled"},
		},
		{
			name: "InternalError is EC2 being unavailable",
			err:  sdkErr(sdktest.HTTPError(500, sdktest.APIError(awserr.InternalError))),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "Unavailable is EC2 being unavailable",
			err:  sdkErr(sdktest.HTTPError(503, sdktest.APIError(awserr.Unavailable))),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "ServiceUnavailable is EC2 being unavailable",
			err:  sdktest.APIError(awserr.ServiceUnavailable),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "an HTTP 503 whose body is not an error document is EC2 being unavailable",
			err:  sdkErr(sdktest.HTTPError(503, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "an HTTP 500 with an unknown code is EC2 being unavailable",
			err:  sdkErr(sdktest.HTTPError(500, sdktest.APIError("SomethingWentWrong"))),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "a deadline exceeded while sending is EC2 being unavailable",
			err:  sdkErr(sendErr(context.DeadlineExceeded)),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "a bare context.DeadlineExceeded is EC2 being unavailable",
			err:  fmt.Errorf("waiting for EC2: %w", context.DeadlineExceeded),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "a refused connection is EC2 being unavailable",
			err:  sdkErr(sendErr(connRefused())),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "retries exhausted on a network error are EC2 being unavailable",
			err:  sdkErr(&retry.MaxAttemptsError{Attempt: 3, Err: sendErr(connRefused())}),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "retries exhausted reading a truncated answer are EC2 being unavailable",
			err:  sdkErr(&retry.MaxAttemptsError{Attempt: 3, Err: io.ErrUnexpectedEOF}),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "a spent retry quota is EC2 being unavailable",
			err:  sdkErr(quotaErr(sendErr(io.ErrUnexpectedEOF))),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "a spent retry quota is EC2 being unavailable whatever code the last attempt had",
			err:  sdkErr(quotaErr(sdktest.HTTPError(400, sdktest.APIError("RequestTimeout")))),
			want: outcome{Type: "EC2Unavailable"},
		},
		{
			name: "UnauthorizedOperation is rejected with its code",
			err:  sdkErr(sdktest.HTTPError(403, sdktest.APIError(awserr.UnauthorizedOperation))),
			want: outcome{Type: "EC2Rejected", Code: awserr.UnauthorizedOperation},
		},
		{
			name: "InvalidParameterValue is rejected with its code",
			err:  sdkErr(sdktest.HTTPError(400, sdktest.APIError(awserr.InvalidParameterValue))),
			want: outcome{Type: "EC2Rejected", Code: awserr.InvalidParameterValue},
		},
		{
			name: "a traffic mirror quota is rejected with its code",
			err:  sdkErr(sdktest.HTTPError(400, sdktest.APIError(awserr.TrafficMirrorSourcesPerTarget))),
			want: outcome{Type: "EC2Rejected", Code: "TrafficMirrorSourcesPerTargetLimitExceeded"},
		},
		{
			name: "a failure that is not EC2's answer is rejected without a code",
			err:  errors.New("building the request: missing region"),
			want: outcome{Type: "EC2Rejected"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := steperr.FromEC2(op, tt.err)
			if got == nil {
				t.Fatal("FromEC2 = nil")
			}
			o := outcome{
				Type:          steperr.TypeName(got),
				WrapsOriginal: errors.Is(got, tt.err),
				NamesOp:       strings.HasPrefix(got.Error(), op+": "),
			}
			var rejected *steperr.EC2Rejected
			if errors.As(got, &rejected) {
				o.Code = rejected.Code
			}
			var ae smithy.APIError
			o.KeepsAPIError = errors.As(got, &ae) && ae.ErrorCode() == awserr.Code(tt.err)
			want := tt.want
			want.WrapsOriginal, want.NamesOp = true, true
			want.KeepsAPIError = awserr.IsAPIError(tt.err)
			if diff := cmp.Diff(want, o); diff != "" {
				t.Errorf("FromEC2(%v) (-want +got):\n%s", tt.err, diff)
			}
			if !steperr.IsNamed(got) {
				t.Errorf("FromEC2 returned %T, which IsNamed does not accept", got)
			}
		})
	}
}

func TestFromEC2KeepsNilAndNamedErrors(t *testing.T) {
	if got := steperr.FromEC2("describing instances", nil); got != nil {
		t.Errorf("FromEC2(nil) = %v, want nil", got)
	}
	named := []error{
		&steperr.SensorFull{TargetID: "tmt-0a1b2c3d", SourceENI: "eni-0a1b2c3d", Err: sdktest.APIError(awserr.TrafficMirrorSourcesPerTarget)},
		&steperr.EC2Throttled{Op: "an earlier op", Err: sdktest.APIError(awserr.RequestLimitExceeded)},
		&steperr.EC2Rejected{Op: "an earlier op", Code: awserr.UnauthorizedOperation, Err: sdktest.APIError(awserr.UnauthorizedOperation)},
		&steperr.NoReachableSensor{Step: "FilterByAvailabilityZone", InstanceID: "i-0a1b2c3d", Detail: "no sensor in eu-west-1a"},
	}
	for _, err := range named {
		t.Run("an already named "+steperr.TypeName(err)+" is returned unchanged", func(t *testing.T) {
			got := steperr.FromEC2("describing instances", err)
			if steperr.TypeName(got) != steperr.TypeName(err) || !errors.Is(got, err) || got.Error() != err.Error() {
				t.Errorf("FromEC2(%T) = %T %q, want the same error back", err, got, got)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	cause := errors.New("the cause")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "InvalidInput gives its reason",
			err:  &steperr.InvalidInput{Reason: "instanceId is missing"},
			want: "invalid input: instanceId is missing",
		},
		{
			name: "InvalidInput gives its reason and cause",
			err:  &steperr.InvalidInput{Reason: "decoding the execution input", Err: cause},
			want: "invalid input: decoding the execution input: the cause",
		},
		{
			name: "InvalidConfiguration gives its cause",
			err:  &steperr.InvalidConfiguration{Err: cause},
			want: "invalid configuration: the cause",
		},
		{
			name: "InvalidConfiguration without a cause still has a message",
			err:  &steperr.InvalidConfiguration{},
			want: "invalid configuration",
		},
		{
			name: "SensorFull names the sensor, the source and EC2's refusal",
			err:  &steperr.SensorFull{TargetID: "tmt-0a1b2c3d", SourceENI: "eni-0a1b2c3d", Err: cause},
			want: "sensor tmt-0a1b2c3d is full: EC2 refused eni-0a1b2c3d as another source: the cause",
		},
		{
			name: "NoReachableSensor lists every rejection in order",
			err: &steperr.NoReachableSensor{Step: "FilterBySecurityGroup", InstanceID: "i-0a1b2c3d", Rejected: []placement.Rejection{
				{TargetID: "tmt-0ee55ff6", Reason: "sg-0f1e: no inbound rule admits UDP 4789 from 10.0.1.25"},
				{TargetID: "tmt-0aa11bb22cc33dd44", Reason: "sg-0123: UDP 4789 allowed only from 10.0.2.0/24"},
			}},
			want: "no reachable sensor for i-0a1b2c3d: FilterBySecurityGroup rejected the last 2 candidate(s): " +
				"tmt-0ee55ff6: sg-0f1e: no inbound rule admits UDP 4789 from 10.0.1.25; " +
				"tmt-0aa11bb22cc33dd44: sg-0123: UDP 4789 allowed only from 10.0.2.0/24",
		},
		{
			name: "NoReachableSensor with one rejection",
			err: &steperr.NoReachableSensor{Step: "FilterByNetworkACL", InstanceID: "i-0a1b2c3d", Rejected: []placement.Rejection{
				{TargetID: "tmt-0ee55ff6", Reason: "acl-0abc: rule 100 denies UDP 4789"},
			}},
			want: "no reachable sensor for i-0a1b2c3d: FilterByNetworkACL rejected the last 1 candidate(s): tmt-0ee55ff6: acl-0abc: rule 100 denies UDP 4789",
		},
		{
			name: "NoReachableSensor without candidates gives its Detail",
			err:  &steperr.NoReachableSensor{Step: "GatherCandidates", InstanceID: "i-0a1b2c3d", Detail: "no traffic mirror target carries mirrorflow:sensor=true"},
			want: "no reachable sensor for i-0a1b2c3d: GatherCandidates: no traffic mirror target carries mirrorflow:sensor=true",
		},
		{
			name: "EC2Throttled names the op",
			err:  &steperr.EC2Throttled{Op: "describing instances", Err: cause},
			want: "describing instances: throttled by EC2: the cause",
		},
		{
			name: "EC2Unavailable names the op",
			err:  &steperr.EC2Unavailable{Op: "describing instances", Err: cause},
			want: "describing instances: EC2 unavailable: the cause",
		},
		{
			name: "EC2Rejected names the op and code",
			err:  &steperr.EC2Rejected{Op: "creating traffic mirror session", Code: awserr.UnauthorizedOperation, Err: cause},
			want: "creating traffic mirror session: EC2 rejected the request (UnauthorizedOperation): the cause",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestZeroValuesHaveMessages(t *testing.T) {
	// aws-lambda-go calls Error() outside the handler's recover; a panic
	// there would lose the routable name.
	for _, err := range allNamed {
		t.Run(steperr.TypeName(err)+" without fields does not panic", func(t *testing.T) {
			if err.Error() == "" {
				t.Errorf("%T{}.Error() is empty", err)
			}
		})
	}
}

func TestUnwrapReachesTheCause(t *testing.T) {
	cause := sdktest.APIError(awserr.InvalidInstanceIDNotFound)
	tests := []struct {
		name string
		err  error
	}{
		{name: "InvalidInput unwraps to its cause", err: &steperr.InvalidInput{Reason: "r", Err: cause}},
		{name: "InvalidConfiguration unwraps to its cause", err: &steperr.InvalidConfiguration{Err: cause}},
		{name: "SensorFull unwraps to its cause", err: &steperr.SensorFull{TargetID: "tmt-0a1b2c3d", Err: cause}},
		{name: "EC2Throttled unwraps to its cause", err: &steperr.EC2Throttled{Op: "op", Err: cause}},
		{name: "EC2Unavailable unwraps to its cause", err: &steperr.EC2Unavailable{Op: "op", Err: cause}},
		{name: "EC2Rejected unwraps to its cause", err: &steperr.EC2Rejected{Op: "op", Err: cause}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Unwrap(tt.err); !errors.Is(got, cause) {
				t.Errorf("errors.Unwrap(%T) = %v, want the cause", tt.err, got)
			}
			if !awserr.IsInstanceNotFound(tt.err) {
				t.Errorf("awserr.IsInstanceNotFound(%T) = false through Unwrap", tt.err)
			}
		})
	}
}

func TestTypeName(t *testing.T) {
	// aws-lambda-go's lambdaErrorResponse reports reflect.TypeOf(err), or
	// its Elem() for a pointer, by Name(): no package, no star.
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "InvalidInput is reported by its bare name", err: &steperr.InvalidInput{}, want: "InvalidInput"},
		{name: "InvalidConfiguration is reported by its bare name", err: &steperr.InvalidConfiguration{}, want: "InvalidConfiguration"},
		{name: "SensorFull is reported by its bare name", err: &steperr.SensorFull{}, want: "SensorFull"},
		{name: "NoReachableSensor is reported by its bare name", err: &steperr.NoReachableSensor{}, want: "NoReachableSensor"},
		{name: "EC2Throttled is reported by its bare name", err: &steperr.EC2Throttled{}, want: "EC2Throttled"},
		{name: "EC2Unavailable is reported by its bare name", err: &steperr.EC2Unavailable{}, want: "EC2Unavailable"},
		{name: "EC2Rejected is reported by its bare name", err: &steperr.EC2Rejected{}, want: "EC2Rejected"},
		{name: "a value error type is reported by its name", err: ratelimit.QuotaExceededError{}, want: "QuotaExceededError"},
		{name: "a wrapped named error is reported as the wrapper", err: fmt.Errorf("creating: %w", &steperr.EC2Rejected{}), want: "wrapError"},
		{name: "errors.New is reported as errorString", err: errors.New("x"), want: "errorString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := steperr.TypeName(tt.err); got != tt.want {
				t.Errorf("TypeName(%T) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestAllNamedListsEveryExportedErrorType reads the package's source for the
// exported types with an Error method, so a new type cannot be left out of
// allNamed, and through it out of IsNamed, Transient and Terminal.
func TestAllNamedListsEveryExportedErrorType(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var inSource []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Error" {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
				inSource = append(inSource, id.Name)
			}
		}
	}
	var listed []string
	for _, err := range allNamed {
		listed = append(listed, steperr.TypeName(err))
	}
	if diff := cmp.Diff(inSource, listed, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("exported error types (-in source +in allNamed):\n%s", diff)
	}
}

func TestTransientTerminalAndRePickPartitionTheNamedTypes(t *testing.T) {
	routed := map[string]string{}
	for list, names := range map[string][]string{"Transient": steperr.Transient(), "Terminal": steperr.Terminal(), "RePick": steperr.RePick()} {
		for _, n := range names {
			if prev, ok := routed[n]; ok {
				t.Errorf("%s is listed by both %s and %s", n, prev, list)
			}
			routed[n] = list
		}
	}
	named := map[string]bool{}
	for _, err := range allNamed {
		n := steperr.TypeName(err)
		named[n] = true
		if !steperr.IsNamed(err) {
			t.Errorf("IsNamed(%T) = false", err)
		}
		if _, ok := routed[n]; !ok {
			t.Errorf("%s is neither Transient, Terminal nor RePick", n)
		}
	}
	for n, list := range routed {
		if !named[n] {
			t.Errorf("%s lists %q, which is no type IsNamed accepts", list, n)
		}
	}
}

func TestTransientTypes(t *testing.T) {
	want := []string{"EC2Throttled", "EC2Unavailable"}
	if diff := cmp.Diff(want, steperr.Transient(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Transient (-want +got):\n%s", diff)
	}
}

func TestIsNamed(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "a named error itself is named", err: &steperr.NoReachableSensor{}, want: true},
		{name: "a wrapped named error is not, since Lambda would report the wrapper", err: fmt.Errorf("gathering: %w", &steperr.NoReachableSensor{})},
		{name: "a joined named error is not", err: errors.Join(&steperr.EC2Throttled{}, errors.New("x"))},
		{name: "an SDK error is not", err: sdkErr(sdktest.APIError(awserr.RequestLimitExceeded))},
		{name: "a plain error is not", err: errors.New("x")},
		{name: "nil is not", err: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := steperr.IsNamed(tt.err); got != tt.want {
				t.Errorf("IsNamed(%T) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestLambdaServiceErrorsAreNotOurs(t *testing.T) {
	ours := slices.Concat(steperr.Transient(), steperr.Terminal(), steperr.RePick())
	for _, n := range slices.Concat(steperr.LambdaServiceErrors(), steperr.LambdaThrottling()) {
		// Step Functions names them Service.Error; a Go type name has no dot.
		if !strings.Contains(n, ".") {
			t.Errorf("Lambda service error %q is not namespaced", n)
		}
		for _, o := range ours {
			if n == o {
				t.Errorf("%q is both a Lambda service error and one of ours", n)
			}
		}
	}
	if len(steperr.LambdaServiceErrors()) == 0 || len(steperr.LambdaThrottling()) == 0 {
		t.Error("LambdaServiceErrors or LambdaThrottling is empty")
	}
}
