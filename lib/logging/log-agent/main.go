// keelson's log agent: an OpenTelemetry Collector with only the filelog receiver and the OTLP/HTTP
// exporter. Its own telemetry is a JSON logger on stderr at the configured level, and no metrics
// or traces: the collector's stock telemetry factory (otelconftelemetry) would add cloud resource
// detectors, a Kubernetes client and metric exporters, a fifth of the build, for nothing the agent uses.
package main

import (
	"context"
	"log"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
)

// telemetryConfig is the service's `telemetry` section: `logs.level` (debug, info, warn, error).
type telemetryConfig struct {
	Logs struct {
		Level zapcore.Level `mapstructure:"level"`
	} `mapstructure:"logs"`
}

func telemetryFactory() telemetry.Factory {
	return telemetry.NewFactory(
		func() component.Config {
			cfg := &telemetryConfig{}
			cfg.Logs.Level = zapcore.WarnLevel
			return cfg
		},
		telemetry.WithCreateLogger(func(_ context.Context, set telemetry.LoggerSettings, c component.Config) (*zap.Logger, component.ShutdownFunc, error) {
			zc := zap.NewProductionConfig()
			zc.Level = zap.NewAtomicLevelAt(c.(*telemetryConfig).Logs.Level)
			zc.OutputPaths = []string{"stderr"}
			build := set.BuildZapLogger
			if build == nil {
				build = func(cfg zap.Config, opts ...zap.Option) (*zap.Logger, error) { return cfg.Build(opts...) }
			}
			logger, err := build(zc)
			if err != nil {
				return nil, nil, err
			}
			return logger, func(context.Context) error { _ = logger.Sync(); return nil }, nil
		}),
	)
}

func components() (otelcol.Factories, error) {
	receivers, err := otelcol.MakeFactoryMap[receiver.Factory](filelogreceiver.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	exporters, err := otelcol.MakeFactoryMap[exporter.Factory](otlphttpexporter.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	return otelcol.Factories{Receivers: receivers, Exporters: exporters, Telemetry: telemetryFactory()}, nil
}

func main() {
	info := component.BuildInfo{Command: "keelson-log-agent", Description: "keelson log agent", Version: "0.165.0"}
	settings := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatal(err)
	}
}
