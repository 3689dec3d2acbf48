using Owlbox.ServiceDefaults;
using MassTransit;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Owlbox.Cli;
using Owlbox.Jobs;

namespace Owlbox.Cli.Tests;

[CollectionDefinition("metrics", DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>The instruments ops dashboards chart count what really happened (run alone: instruments are process-wide).</summary>
[Collection("metrics")]
public sealed class TelemetryTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Label_RecordsWrittenAndFailedSamples_BoxesAndDetectTimes()
    {
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "broken.png"), [1, 2, 3]);
        var measured = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OwlboxTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value)
        {
            lock (measured)
            {
                measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + (instrument.Name == "owlbox.detect.duration" ? 1 : value);
            }
        }
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => Record(i, v));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => Record(i, v));
        listener.Start();

        var (exit, _, _) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Equal(6, measured.GetValueOrDefault("owlbox.samples.written"));
        Assert.Equal(1, measured.GetValueOrDefault("owlbox.samples.failed"));
        Assert.Equal(11, measured.GetValueOrDefault("owlbox.boxes.written"));
        Assert.Equal(6, measured.GetValueOrDefault("owlbox.detect.duration"));
    }

    [Fact]
    public async Task Label_EveryStagesConsumeSpan_CarriesTheJobId()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        var (exit, _, _) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.Ok, exit);
        var consumed = spans.Where(s => s.Kind == ActivityKind.Consumer).ToArray();
        var tagged = consumed.Where(s => s.GetTagItem(Owlbox.ServiceDefaults.JobIdTagFilter<object>.Tag) is string).ToArray();
        var stages = tagged.Select(s => s.DisplayName).Distinct().ToArray();
        foreach (var stage in new[] { "expand-job", "fetch-sample", "detect-images", "write-samples" })
        {
            Assert.Contains(stages, s => s.StartsWith(stage, StringComparison.Ordinal));
        }
        var job = Assert.Single(tagged.Select(s => (string)s.GetTagItem(Owlbox.ServiceDefaults.JobIdTagFilter<object>.Tag)!).Distinct());
        Assert.True(Guid.TryParse(job, out _), job);
    }

    private static string Observability(string file) => Path.Combine(Workspace.RepoRoot, "k8s", "observability", file);

    /// <summary>Metric names the dashboard and the alerts query from the services' own meter (queue depths come from
    /// RabbitMQ's plugin).</summary>
    private static string[] QueriedServiceMetrics() =>
        System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Observability("owlbox-dashboard.json")) + File.ReadAllText(Observability("owlbox-alerts.yaml")),
            @"\bowlbox_[a-z_]+\b").Select(m => m.Value).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The names the OpenTelemetry collector's Prometheus exporter gives an instrument (unit suffix, _total
    /// for counters, _bucket/_sum/_count for histograms).</summary>
    private static IEnumerable<string> PrometheusNames(Instrument instrument)
    {
        var unit = instrument.Unit switch { "ms" => "_milliseconds", "s" => "_seconds", "By" => "_bytes", _ => "" };
        var name = instrument.Name.Replace('.', '_') + unit;
        return instrument switch
        {
            Counter<long> or Counter<double> => [name + "_total"],
            Histogram<long> or Histogram<double> => [name + "_bucket", name + "_sum", name + "_count"],
            _ => [name],
        };
    }

    [Fact]
    public async Task DashboardAndAlerts_QueryOnlyMetricsTheServicesExport()
    {
        var exported = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OwlboxTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Seen(Instrument instrument)
        {
            lock (exported)
            {
                exported.UnionWith(PrometheusNames(instrument));
            }
        }
        listener.SetMeasurementEventCallback<long>((i, _, _, _) => Seen(i));
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => Seen(i));
        listener.SetMeasurementEventCallback<int>((i, _, _, _) => Seen(i));
        listener.Start();
        using var ws = new Workspace();
        File.WriteAllBytes(Path.Combine(ws.Dataset, "broken.png"), [1, 2, 3]);
        // Gauges are read when exported: read them mid-job, at each sample written while the job is unfinished (a single
        // reading could meet the SQLite store busy with a write, when the gauge reports nothing, as it should).
        void ReadGaugesMidJob(MassTransit.IBusRegistrationConfigurator x) => x.AddHandler<Owlbox.Contracts.V1.SampleWritten>((Owlbox.Contracts.V1.SampleWritten _) =>
        {
            listener.RecordObservableInstruments();
            return Task.CompletedTask;
        });

        await Workspace.RunAsync(ReadGaugesMidJob, default, "label", ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt-file", Workspace.PromptFile, "--execution-provider", "cpu");

        var queried = QueriedServiceMetrics();
        Assert.Contains("owlbox_detect_duration_milliseconds_bucket", queried);
        Assert.Contains("owlbox_jobs", queried);
        Assert.True(queried.All(exported.Contains), $"not exported: {string.Join(", ", queried.Where(m => !exported.Contains(m)))}; exported: {string.Join(", ", exported.Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public void Dashboard_IsAWellFormedGrafanaDashboard()
    {
        // Grafana publishes no JSON schema for dashboards to check against offline; these are the fields it needs to
        // load and lay out one (schemaVersion 36+: panels with a grid position, a type and Prometheus targets).
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Observability("owlbox-dashboard.json")));
        var root = json.RootElement;

        Assert.Equal("owlbox", root.GetProperty("uid").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.InRange(root.GetProperty("schemaVersion").GetInt32(), 36, 41);
        var panels = root.GetProperty("panels").EnumerateArray().ToArray();
        Assert.True(panels.Length >= 6);
        Assert.Equal(panels.Length, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels)
        {
            var grid = panel.GetProperty("gridPos");
            Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
            Assert.True(grid.GetProperty("h").GetInt32() > 0);
            Assert.Contains(panel.GetProperty("type").GetString(), new[] { "timeseries", "stat", "gauge", "table", "bargauge" });
            var targets = panel.GetProperty("targets").EnumerateArray().ToArray();
            Assert.NotEmpty(targets);
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString())));
            Assert.Equal(targets.Length, targets.Select(t => t.GetProperty("refId").GetString()).Distinct().Count());
        }
    }

    [SkippableFact]
    public void AlertRules_PassPromtool()
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        Skip.If(promtool is null, "promtool is not installed (.ci/services.sh installs Debian's prometheus package)");
        using var process = Process.Start(new ProcessStartInfo(promtool, ["check", "rules", Observability("owlbox-alerts.yaml")]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();

        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("SUCCESS: 5 rules found", output, StringComparison.Ordinal);
    }
}
