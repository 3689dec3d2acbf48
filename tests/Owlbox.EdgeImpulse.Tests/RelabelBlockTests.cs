using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Owlbox.Cli;
using Owlbox.Labeling.Boxes;
using Owlbox.LlmEmulator;

namespace Owlbox.EdgeImpulse.Tests;

/// <summary>
/// <c>blocks/relabel</c> (<c>owlbox relabel-block</c>) against the Studio emulator as Studio runs it, chained after the
/// OWL step in one AI labeling action: the OWL step finds the shapes under one label ("shape"), the relabel step shows
/// each box to the LLM emulator (which answers the crop's colour) and the boxes end up as the ground truth names them.
/// </summary>
public sealed class RelabelBlockTests
{
    private const string OwlPrompt = "red square (shape, 0.5)\\ngreen block (shape, 0.5)\\na blue thing (shape, 0.5)\\nyellow (shape)";
    private const string VerifyPrompt = "What colour is this shape? Answer with one word, or 'remove' if there is none.";
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);

    private static Dictionary<string, List<LabeledBox>> GroundTruth() =>
        JsonSerializer.Deserialize<Dictionary<string, List<LabeledBox>>>(
            File.ReadAllText(Path.Combine(Emulator.RepoRoot, "samples", "shapes-ground-truth.json")), s_web)!;

    /// <summary>The LLM emulator on a free loopback port, with its call log.</summary>
    private sealed class Llm : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<EmulatorCall> _calls;

        private Llm(WebApplication app, ConcurrentQueue<EmulatorCall> calls, string key, Uri endpoint) => (_app, _calls, Key, Endpoint) = (app, calls, key, endpoint);

        public string Key { get; }
        public Uri Endpoint { get; }
        public int CallCount => _calls.Count;
        public IEnumerable<EmulatorCall> AllCalls => _calls;

        public static async Task<Llm> StartAsync(EmulatorFaults? faults = null)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var key = "sk-test-" + Guid.NewGuid().ToString("N");
            var calls = new ConcurrentQueue<EmulatorCall>();
            var app = LlmEmulatorApp.Build(key, [$"http://127.0.0.1:{port}"], faults ?? new EmulatorFaults(), ReplyFlavor.OpenAi, calls);
            await app.StartAsync();
            return new Llm(app, calls, key, new Uri($"http://127.0.0.1:{port}/v1"));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static string[] RelabelArgs(Llm llm, params string[] extra) =>
    [
        "--which-labels", "shape", "--prompt", VerifyPrompt, "--disable-labels", "remove", "--image-quality", "low", "--concurrency", "10",
        "--llm-endpoint", llm.Endpoint.ToString(), "--llm-retries", "1", "--some-studio-argument", "x", .. extra,
    ];

    private static Dictionary<string, string?> LlmKey(Llm llm) => new() { ["OPENAI_API_KEY"] = llm.Key };

    /// <summary>Every box is the ground truth's box of that name (same objects, IoU at least 0.9).</summary>
    private static void AssertAsTheTruthNamesThem(string file, IReadOnlyList<StudioBoundingBox> boxes)
    {
        var truth = GroundTruth()[file];
        Assert.Equal(truth.Count, boxes.Count);
        foreach (var t in truth)
        {
            var b = Assert.Single(boxes, d => d.Label == t.Label);
            Assert.True(new PixelBox(b.X, b.Y, b.Width, b.Height).IoU(t.Box) >= 0.9, $"{file}: {t.Label} {b} vs {t}");
        }
    }

    [Fact]
    public async Task Chained_after_the_OWL_step_preview_and_apply_end_with_the_same_boxes_as_the_crops_say()
    {
        // Preview: both steps under Studio job 9; every sample gets a proposal, no sample is touched.
        Dictionary<int, List<StudioBoundingBox>> previewed;
        await using (var ei = await Emulator.StartAsync())
        await using (var llm = await Llm.StartAsync())
        {
            var (owl, owlOut, owlErr) = await ei.RunBlockAsync(["--prompt", OwlPrompt, "--nms", "--propose-actions", "9"]);
            Assert.True(owl == OwlboxCli.Ok, owlOut + owlErr);
            var owlBoxes = 0;
            foreach (var id in Emulator.Ids.Values)
            {
                var step1 = await ei.Client.GetSampleAsync(1, id, 9, default);
                Assert.All(step1.BoundingBoxes, b => Assert.Equal("shape", b.Label));
                owlBoxes += step1.BoundingBoxes.Count;
            }

            int ImageReads() => ei.Requests.Count(r => r.StartsWith("GET /v1/api/1/raw-data/2/image", StringComparison.Ordinal));
            var emptyImageReads = ImageReads();
            Assert.True(emptyImageReads > 0); // the OWL step read it

            var (exit, stdout, stderr) = await ei.RunRelabelBlockAsync(RelabelArgs(llm, "--propose-actions", "9"), environment: LlmKey(llm));

            Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
            Assert.Equal(owlBoxes, llm.CallCount); // one call per box the OWL step proposed
            Assert.Equal(emptyImageReads, ImageReads()); // a sample with no box to ask about is not downloaded
            Assert.Contains("Input tokens = ", stdout, StringComparison.Ordinal);
            Assert.EndsWith("All done!" + Environment.NewLine, stdout, StringComparison.Ordinal);
            var proposals = new Dictionary<int, List<StudioBoundingBox>>();
            foreach (var (file, id) in Emulator.Ids)
            {
                Assert.Empty((await ei.SampleAsync(id)).BoundingBoxes); // preview touches no sample
                var proposed = await ei.Client.GetSampleAsync(1, id, 9, default);
                AssertAsTheTruthNamesThem(file, proposed.BoundingBoxes);
                if (proposed.BoundingBoxes.Count > 0)
                {
                    Assert.Equal("gpt-4o-2024-08-06", proposed.Metadata!["verified_by"]);
                    Assert.Equal("owlv2", proposed.Metadata["labeled_by"]); // the OWL step's provenance stays
                }
                proposals[id] = [.. proposed.BoundingBoxes];
            }
            previewed = proposals;
        }

        // Apply ("Label all data"): the same two steps without a job id write the samples, with the same result.
        await using (var ei = await Emulator.StartAsync())
        await using (var llm = await Llm.StartAsync())
        {
            var (owl, owlOut, owlErr) = await ei.RunBlockAsync(["--prompt", OwlPrompt, "--nms"]);
            Assert.True(owl == OwlboxCli.Ok, owlOut + owlErr);

            var (exit, stdout, stderr) = await ei.RunRelabelBlockAsync(RelabelArgs(llm), environment: LlmKey(llm));

            Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
            foreach (var (file, id) in Emulator.Ids)
            {
                var sample = await ei.SampleAsync(id);
                AssertAsTheTruthNamesThem(file, sample.BoundingBoxes);
                Assert.Equal(previewed[id].OrderBy(b => (b.X, b.Y)).ToArray(), sample.BoundingBoxes.OrderBy(b => (b.X, b.Y)).ToArray());
            }
            Assert.All(llm.AllCalls, c => Assert.Equal("Bearer " + llm.Key, c.Authorization));
            Assert.DoesNotContain(llm.Key, stdout + stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_model_failing_on_a_crop_fails_its_sample_alone_and_the_run_exits_non_zero()
    {
        await using var ei = await Emulator.StartAsync();
        await using var llm = await Llm.StartAsync(new EmulatorFaults { ByColour = { ["yellow"] = new Fault { Kind = FaultKind.ServerError } } });
        var (owl, owlOut, owlErr) = await ei.RunBlockAsync(["--prompt", OwlPrompt, "--nms", "--propose-actions", "5"]);
        Assert.True(owl == OwlboxCli.Ok, owlOut + owlErr);

        var (exit, stdout, stderr) = await ei.RunRelabelBlockAsync(RelabelArgs(llm, "--propose-actions", "5"), environment: LlmKey(llm));

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        var yellow = GroundTruth().Where(kv => kv.Value.Any(b => b.Label == "yellow")).Select(kv => Emulator.Ids[kv.Key]).ToHashSet();
        Assert.NotEmpty(yellow);
        foreach (var (file, id) in Emulator.Ids)
        {
            var proposed = await ei.Client.GetSampleAsync(1, id, 5, default);
            if (yellow.Contains(id))
            {
                Assert.Contains($"  {id}: ", stderr, StringComparison.Ordinal);
                Assert.All(proposed.BoundingBoxes, b => Assert.Equal("shape", b.Label)); // the OWL step's proposal, unchanged
            }
            else
            {
                AssertAsTheTruthNamesThem(file, proposed.BoundingBoxes);
            }
        }
        Assert.DoesNotContain("All done!", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_keys_and_a_non_numeric_job_id_exit_one_and_an_empty_selection_is_all_done()
    {
        await using var ei = await Emulator.StartAsync();
        await using var llm = await Llm.StartAsync();

        var (noKey, _, noKeyErr) = await ei.RunRelabelBlockAsync(RelabelArgs(llm), environment: new() { ["OPENAI_API_KEY"] = null });
        var (badJob, _, badJobErr) = await ei.RunRelabelBlockAsync(RelabelArgs(llm, "--propose-actions", "abc"), environment: LlmKey(llm));
        var (none, noneOut, _) = await ei.RunRelabelBlockAsync(RelabelArgs(llm), ids: [], environment: LlmKey(llm));

        Assert.Equal((OwlboxCli.SetupError, OwlboxCli.SetupError, OwlboxCli.Ok), (noKey, badJob, none));
        Assert.Contains("Missing OPENAI_API_KEY", noKeyErr, StringComparison.Ordinal);
        Assert.Contains("--propose-actions must be Studio's integer job id", badJobErr, StringComparison.Ordinal);
        Assert.Contains("All done!", noneOut, StringComparison.Ordinal);
        Assert.Equal(0, llm.CallCount);
    }

    [Fact]
    public void Its_parameters_are_the_original_block_s_names_and_defaults_and_each_is_an_option_it_reads()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Emulator.RepoRoot, "blocks", "relabel", "parameters.json")));
        var root = doc.RootElement;
        Assert.Equal("ai-action", root.GetProperty("type").GetString());
        Assert.Equal(["images_object_detection"], root.GetProperty("info").GetProperty("operatesOn").EnumerateArray().Select(e => e.GetString()));
        var parameters = root.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("param").GetString()!, p => p);
        Assert.Equal("secret", parameters["OPENAI_API_KEY"].GetProperty("type").GetString());
        Assert.Equal("animal", parameters["which-labels"].GetProperty("value").GetString());
        Assert.Equal(Verification.VerifierOptions.DefaultPrompt, parameters["prompt"].GetProperty("value").GetString());
        Assert.Equal("remove", parameters["disable-labels"].GetProperty("value").GetString());
        Assert.Equal("auto", parameters["image-quality"].GetProperty("value").GetString());
        Assert.Equal(["auto", "low", "high"], parameters["image-quality"].GetProperty("valid").EnumerateArray().Select(v => v.GetProperty("value").GetString()));
        Assert.Equal("10", parameters["concurrency"].GetProperty("value").GetString());
        var command = OwlboxCli.CreateRootCommand(new CliContext(TextWriter.Null, TextWriter.Null)).Subcommands.Single(c => c.Name == "relabel-block");
        var options = command.Options.Select(o => o.Name).ToHashSet();
        Assert.All(parameters.Keys.Where(k => k != "OPENAI_API_KEY"), k => Assert.Contains("--" + k, options));
        Assert.Contains("--data-ids-file", options);
        Assert.Contains("--propose-actions", options);
    }
}
