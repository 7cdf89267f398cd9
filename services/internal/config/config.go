// Package config reads a service's settings from its command line, falling
// back to environment variables, so that the same binary is configured by
// flags on a laptop and by `env:` in a Kubernetes manifest.
//
// Every flag --some-name can also be set by the variable SOME_NAME. A flag
// given on the command line wins over the environment, which wins over the
// default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/envoy-example/envoy-example/services/internal/faults"
)

// Defaults shared by every service; the ports are those of DESIGN.md.
const (
	DefaultListen    = "127.0.0.1:9090"
	DefaultOpsListen = ":9091"
	// DefaultPeerAddr is the Envoy sidecar's egress listener: apps never
	// call each other directly.
	DefaultPeerAddr        = "127.0.0.1:7070"
	DefaultShutdownTimeout = 10 * time.Second
	// MaxDrainDelay bounds --drain-delay (the chart's schema allows 300s).
	MaxDrainDelay = 5 * time.Minute
)

// FlagSet is a flag.FlagSet whose Parse also reads the environment and whose
// --help names the environment variable of every flag.
type FlagSet struct {
	*flag.FlagSet
	summary string
}

// New returns an empty FlagSet for the program name; summary is printed at
// the top of --help. Usage and errors go to out.
func New(name, summary string, out io.Writer) *FlagSet {
	f := &FlagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), summary: summary}
	f.SetOutput(out)
	f.Usage = f.usage
	return f
}

// EnvName is the environment variable that sets the flag name:
// "ops-listen" → "OPS_LISTEN".
func EnvName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse reads args, then sets every flag that args left unset from its
// environment variable when that is non-empty. It returns flag.ErrHelp when
// args ask for help (the usage has been printed then).
func (f *FlagSet) Parse(args []string, getenv func(string) string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q: every setting is a --flag", f.Arg(0))
		fmt.Fprintln(f.Output(), err)
		return err
	}
	onCommandLine := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	var errs []error
	f.VisitAll(func(fl *flag.Flag) {
		if onCommandLine[fl.Name] {
			return
		}
		env := EnvName(fl.Name)
		v := getenv(env)
		if v == "" {
			return
		}
		if err := f.Set(fl.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s=%q (for --%s): %v", env, v, fl.Name, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(f.Output(), err)
		return err
	}
	return nil
}

func (f *FlagSet) usage() {
	out := f.Output()
	fmt.Fprintf(out, "Usage: %s [flags]\n\n%s\n\n", f.Name(), f.summary)
	fmt.Fprintf(out, "Every flag can also be set from the environment variable shown after it;\n")
	fmt.Fprintf(out, "a flag on the command line wins over the environment.\n\nFlags:\n")
	f.VisitAll(func(fl *flag.Flag) {
		fmt.Fprintf(out, "  --%s  (env %s)\n", fl.Name, EnvName(fl.Name))
		fmt.Fprintf(out, "        %s", fl.Usage)
		if fl.DefValue != "" {
			fmt.Fprintf(out, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(out)
	})
}

// Common holds the settings every service has.
type Common struct {
	Listen          string
	OpsListen       string
	ShutdownTimeout time.Duration
	// DrainDelay is how long the service keeps serving after SIGTERM while
	// it reports not ready, so that callers stop sending before it stops
	// taking calls.
	DrainDelay time.Duration
	LogLevel   slog.Level
	// Faults are failures and latency the app injects into its own calls
	// on purpose (off by default), for the fault tour.
	Faults faults.Settings
}

// AddCommon defines the common flags on f; their values land in the result
// once f is parsed.
func AddCommon(f *FlagSet) *Common {
	c := &Common{}
	f.StringVar(&c.Listen, "listen", DefaultListen, "host:port of the service's own server (reached through the Envoy sidecar)")
	f.StringVar(&c.OpsListen, "ops-listen", DefaultOpsListen, "host:port of the ops server: /metrics, /healthz, /readyz (scraped and probed directly, not through Envoy)")
	f.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "after SIGTERM, how long in-flight calls may take to finish before they are cut")
	f.DurationVar(&c.DrainDelay, "drain-delay", 0, "after SIGTERM, how long to keep serving new calls while /readyz and gRPC health say not serving, before draining (lets callers' health checks take this instance out)")
	f.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "least severe log level written: debug, info, warn or error")
	f.Float64Var(&c.Faults.FailRate, "fail-rate", 0, "fraction of calls (0 to 1) the app answers with an injected failure (gRPC UNAVAILABLE, HTTP 503) instead of serving them; health checks are spared")
	f.DurationVar(&c.Faults.ExtraLatency, "extra-latency", 0, "latency the app adds before serving each call, on purpose; health checks are spared")
	return c
}

// Check reports the first common setting that cannot work.
func (c *Common) Check() error {
	if err := CheckAddr("listen", c.Listen); err != nil {
		return err
	}
	if err := CheckAddr("ops-listen", c.OpsListen); err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("--shutdown-timeout must be positive, got %s", c.ShutdownTimeout)
	}
	if c.DrainDelay < 0 || c.DrainDelay > MaxDrainDelay {
		return fmt.Errorf("--drain-delay must be between 0s and %s, got %s", MaxDrainDelay, c.DrainDelay)
	}
	return c.Faults.Check()
}

// CheckAddr reports whether addr, the value of the flag name, is a
// host:port with a numeric port; the host may be empty (every interface).
func CheckAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q is not host:port: %v", name, addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("--%s %q has no valid port", name, addr)
	}
	return nil
}

// CheckPeerAddr is CheckAddr for the address of a peer, which needs a host.
func CheckPeerAddr(name, addr string) error {
	if err := CheckAddr(name, addr); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || port == "0" {
		return fmt.Errorf("--%s %q needs a host and a non-zero port", name, addr)
	}
	return nil
}

// MaxSeedScale bounds --seed-scale: the seed data lives in memory, and at
// this scale the whole report still fits one batch lookup (validate.MaxIDs)
// and gRPC's default 4 MiB message limit.
const MaxSeedScale = 1000

// AddSeedScale defines --seed-scale on f.
func AddSeedScale(f *FlagSet) *int {
	return f.Int("seed-scale", 1, "how many times over the in-memory seed data is generated (1 = the original example's data); user, order and item must agree")
}

// CheckSeedScale reports whether n is a usable --seed-scale.
func CheckSeedScale(n int) error {
	if n < 1 || n > MaxSeedScale {
		return fmt.Errorf("--seed-scale must be between 1 and %d, got %d", MaxSeedScale, n)
	}
	return nil
}
