using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Cli;
using Owlbox.Contracts.V1;
using Owlbox.Labeling.Boxes;

namespace Owlbox.EdgeImpulse.Tests;

/// <summary><c>owlbox block</c> end to end against the Studio emulator, as Studio runs the block.</summary>
public sealed class BlockTests
{
    private const string Prompt = "red square (red, 0.5)\\ngreen block (green, 0.5)\\na blue thing (blue, 0.5)\\nyellow (yellow)";
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);

    private static Dictionary<string, List<LabeledBox>> GroundTruth() =>
        JsonSerializer.Deserialize<Dictionary<string, List<LabeledBox>>>(
            File.ReadAllText(Path.Combine(Emulator.RepoRoot, "samples", "shapes-ground-truth.json")), s_web)!;

    private static async Task PresetLabeledSampleAsync(Emulator ei)
    {
        await ei.Client.SetBoundingBoxesAsync(1, 3, [new("person", 400, 40, 120, 200), new("red", 10, 10, 50, 50)], default);
        await ei.Client.SetMetadataAsync(1, 3, new Dictionary<string, string> { ["site"] = "warehouse" }, default);
    }

    private static void AssertOnObjects(string file, IReadOnlyList<StudioBoundingBox> written)
    {
        var truth = GroundTruth()[file];
        var detected = written.Where(b => b.Label != "person").ToList();
        Assert.Equal(truth.Count, detected.Count);
        foreach (var t in truth)
        {
            var w = Assert.Single(detected, d => d.Label == t.Label);
            Assert.True(new PixelBox(w.X, w.Y, w.Width, w.Height).IoU(t.Box) >= 0.9, $"{file}: {t.Label} {w} vs {t}");
        }
    }

    [Fact]
    public async Task Apply_WritesBoxesThenMergedMetadata_OnEverySample()
    {
        await using var ei = await Emulator.StartAsync();
        await PresetLabeledSampleAsync(ei);

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", Prompt, "--delete_existing_bounding_boxes", "matching-prompt", "--nms", "--nms-iou-threshold", "0.2", "--some-studio-argument", "x"]);

        Assert.True(exit == OwlboxCli.Ok, output + err);
        // The project is listed once per category for the whole run (checked, then expanded), not once per step.
        Assert.Single(ei.Requests, r => r.StartsWith("GET /v1/api/1/raw-data?category=training", StringComparison.Ordinal));
        Assert.Single(ei.Requests, r => r.StartsWith("GET /v1/api/1/raw-data?category=testing", StringComparison.Ordinal));
        foreach (var (file, id) in Emulator.Ids)
        {
            var sample = await ei.SampleAsync(id);
            AssertOnObjects(file, sample.BoundingBoxes);
            Assert.Equal("owlv2", sample.Metadata!["labeled_by"]);
            Assert.Equal(Prompt.Replace("\\n", "\n", StringComparison.Ordinal), sample.Metadata["prompt"]);
        }
        var labeled = await ei.SampleAsync(3);
        Assert.Contains(labeled.BoundingBoxes, b => b is { Label: "person", X: 400 });
        Assert.DoesNotContain(labeled.BoundingBoxes, b => b is { Label: "red", X: 10 });
        Assert.Equal("warehouse", labeled.Metadata!["site"]);
        Assert.Matches(@"\[[1-6]/6\] Labeling 3\.\.\. OK", output);
    }

    [Fact]
    public async Task Preview_ProposesForEverySample_AndLeavesSamplesUntouched()
    {
        await using var ei = await Emulator.StartAsync();
        await PresetLabeledSampleAsync(ei);

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", Prompt, "--delete_existing_bounding_boxes", "matching-prompt", "--nms", "--propose-actions", "77"]);

        Assert.True(exit == OwlboxCli.Ok, output + err);
        foreach (var id in Emulator.Ids.Values)
        {
            var sample = await ei.SampleAsync(id);
            Assert.Equal(id == 3 ? 2 : 0, sample.BoundingBoxes.Count);
            Assert.False(sample.Metadata?.ContainsKey("labeled_by") ?? false);
        }
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("x-api-key", ei.ApiKey);
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"{ei.Endpoint}/api/1/raw-data/ai-actions-preview/77/proposed-changes"));
        var proposals = doc.RootElement.GetProperty("proposedChanges").EnumerateArray()
            .ToDictionary(p => p.GetProperty("sampleId").GetInt32(), p => p.GetProperty("proposedChanges").Clone());
        Assert.Equal(Emulator.Ids.Values.Order(), proposals.Keys.Order());
        Assert.Equal(0, proposals[2].GetProperty("boundingBoxes").GetArrayLength()); // nothing found, still proposed
        Assert.Equal("owlv2", proposals[2].GetProperty("metadata").GetProperty("labeled_by").GetString());
        var labeled = JsonSerializer.Deserialize<List<StudioBoundingBox>>(proposals[3].GetProperty("boundingBoxes").GetRawText(), s_web)!;
        AssertOnObjects("labeled-600x400.jpg", labeled);
        Assert.Contains(labeled, b => b.Label == "person");
    }

    [Fact]
    public async Task Faults_TransientOnesAreRetried_ACorruptImageFailsOnlyItsSample()
    {
        await using var ei = await Emulator.StartAsync();
        await ei.Client.SetBoundingBoxesAsync(1, 6, [new("keep-me", 1, 1, 5, 5)], default);
        (ei.Faults.FailEveryNth, ei.Faults.HangEveryNth, ei.Faults.HangMs) = (4, 7, 3000);
        ei.Faults.CorruptImageSampleIds = [6];

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", Prompt, "--nms"],
            environment: new() { ["Owlbox__Studio__Timeout"] = "00:00:01", ["Owlbox__Studio__Attempts"] = "6" });

        (ei.Faults.FailEveryNth, ei.Faults.HangEveryNth) = (0, 0);
        Assert.True(exit == OwlboxCli.SamplesFailed, output + err);
        Assert.Contains("Labeled 5 of 6 samples", output, StringComparison.Ordinal);
        Assert.Contains("6: the image data is truncated or corrupt", output, StringComparison.Ordinal);
        Assert.Equal([new StudioBoundingBox("keep-me", 1, 1, 5, 5)], (await ei.SampleAsync(6)).BoundingBoxes);
        foreach (var (file, id) in Emulator.Ids.Where(kv => kv.Value != 6))
        {
            AssertOnObjects(file, (await ei.SampleAsync(id)).BoundingBoxes);
        }
    }

    [Fact]
    public async Task TwiceWithNo_AddsNothingTheSecondTime()
    {
        // The original block stacks every box again; Owlbox reads the sample before writing and never adds an identical box.
        await using var ei = await Emulator.StartAsync();

        var (first, _, _) = await ei.RunBlockAsync(["--prompt", Prompt, "--delete_existing_bounding_boxes", "no", "--nms"], ids: [6]);
        var once = (await ei.SampleAsync(6)).BoundingBoxes;
        var (second, _, _) = await ei.RunBlockAsync(["--prompt", Prompt, "--delete_existing_bounding_boxes", "no", "--nms"], ids: [6]);

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (first, second));
        Assert.Equal(2, once.Count);
        Assert.Equal(once, (await ei.SampleAsync(6)).BoundingBoxes);
    }

    [Fact]
    public async Task WithoutNmsFlag_NoSuppression_AsWhenStudioLeavesTheBoxUnticked()
    {
        await using var ei = await Emulator.StartAsync();

        var (exit, output, _) = await ei.RunBlockAsync(["--prompt", "blue"], ids: [6]);

        Assert.Equal(OwlboxCli.Ok, exit);
        // Each cell of the object reports its box; identical ones are written once.
        Assert.True(System.Text.RegularExpressions.Regex.Count(output, @"blue \(0\.\d+\)") > 1, output);
        Assert.Equal("blue", Assert.Single((await ei.SampleAsync(6)).BoundingBoxes).Label);
    }

    [Theory]
    [InlineData(null, "Missing EI_PROJECT_API_KEY")]
    [InlineData("abc", "--propose-actions must be Studio's integer job id")]
    public async Task SetupErrors_ExitOne(string? proposeActions, string message)
    {
        await using var ei = await Emulator.StartAsync();
        var env = proposeActions is null ? new Dictionary<string, string?> { ["EI_PROJECT_API_KEY"] = "" } : null;

        var (exit, _, err) = await ei.RunBlockAsync(proposeActions is null ? ["--prompt", "red"] : ["--prompt", "red", "--propose-actions", proposeActions], environment: env);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMisspeltTransport_ExitsOne_NamingTheSetting_InsteadOfRunningTheJobHere()
    {
        await using var ei = await Emulator.StartAsync();

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", "red"], environment: new() { ["Owlbox__Transport"] = "rabitmq" });

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("Owlbox:Transport must be in-memory or rabbitmq, got 'rabitmq'", err, StringComparison.Ordinal);
        Assert.DoesNotContain("Labeling", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a value that does not convert", "Owlbox__RetryLimit", "five", "'Owlbox:RetryLimit'")]
    [InlineData("a duration that does not convert", "Owlbox__Studio__Timeout", "soon", "'Owlbox:Studio:Timeout'")]
    [InlineData("a setting of the in-process run", "Owlbox__Engine__Threads", "-1", "Owlbox:Engine:Threads must be at least 0, got -1")]
    [InlineData("a broker with no host", "Owlbox__RabbitMq__Host", " ", "Owlbox:RabbitMq:Host is empty")]
    public async Task ABadSetting_ExitsOne_NamingIt_BeforeAnythingRuns(string because, string variable, string value, string expected)
    {
        await using var ei = await Emulator.StartAsync();
        var env = new Dictionary<string, string?> { [variable] = value };
        if (variable.StartsWith("Owlbox__RabbitMq", StringComparison.Ordinal))
        {
            env["Owlbox__Transport"] = "rabbitmq";
        }

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", "red"], environment: env);

        Assert.True(exit == OwlboxCli.SetupError, because + ": " + err);
        Assert.StartsWith("error: the configuration would not run:", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal); // one line per setting, never a type or a stack trace
        Assert.DoesNotContain("Labeling", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a wrong key")]
    [InlineData("Studio down (503 on every call)")]
    public async Task AsStudioRunsIt_AWrongKeyOrAnOutageWhileListing_ExitsOneWithTheReason_NoStackTrace(string fault)
    {
        await using var ei = await Emulator.StartAsync();
        Dictionary<string, string?>? env = null;
        if (fault.StartsWith("a wrong key", StringComparison.Ordinal))
        {
            env = new() { ["EI_PROJECT_API_KEY"] = "ei_not_the_key" };
        }
        else
        {
            ei.Faults.FailEveryNth = 1;
        }

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", "red"], environment: env);

        Assert.True(exit == OwlboxCli.SetupError, $"exit {exit}: {output}{err}");
        Assert.Contains("project 1", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output + err, StringComparison.Ordinal);
        Assert.DoesNotContain("ei_not_the_key", output + err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheApiKeyNeverAppearsInOutputMessagesOrTheJobStore()
    {
        await using var ei = await Emulator.StartAsync("ei_" + "s3cr3t" + Guid.NewGuid().ToString("N"));
        ei.Faults.FailEveryNth = 3; // retries, and their error messages, along the way
        ei.Faults.CorruptImageSampleIds = [2];
        var messages = new List<string>();
        var store = Path.Combine(ei.Directory, "kept-jobs.db");

        var run = await ei.RunBlockAsync(["--prompt", Prompt, "--nms"], environment: new() { ["OWLBOX_BLOCK_JOB_STORE"] = store }, busTap: x =>
        {
            x.AddSingleton(messages);
            x.AddConsumer<MessageSpy>();
        });
        var wrongKey = await ei.RunBlockAsync(["--prompt", Prompt], environment: new() { ["EI_PROJECT_API_KEY"] = ei.ApiKey + "x" });

        Assert.Equal(OwlboxCli.SamplesFailed, run.Exit);
        Assert.Equal(OwlboxCli.SetupError, wrongKey.Exit);
        Assert.Contains("Invalid API key", wrongKey.Err, StringComparison.Ordinal);
        lock (messages)
        {
            Assert.True(messages.Count >= 12, $"only {messages.Count} messages seen");
            Assert.All(messages, m => Assert.DoesNotContain(ei.ApiKey, m, StringComparison.Ordinal));
        }
        foreach (var text in new[] { run.Out, run.Err, wrongKey.Out, wrongKey.Err })
        {
            Assert.DoesNotContain(ei.ApiKey, text, StringComparison.Ordinal);
        }
        Assert.True(File.Exists(store));
        foreach (var file in Directory.GetFiles(ei.Directory, "kept-jobs.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            Assert.DoesNotContain(ei.ApiKey, await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ASampleDeletedMidJob_FailsAlone_EveryOtherSampleOfItsBatchIsWritten()
    {
        await using var ei = await Emulator.StartAsync();
        ei.Faults.DeletedAtWriteSampleIds = [4];

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", Prompt, "--nms"]);

        Assert.True(exit == OwlboxCli.SamplesFailed, $"exit {exit}: {output}{err}");
        Assert.Contains("Labeled 5 of 6", output, StringComparison.Ordinal);
        Assert.Matches(@"4\.\.\. FAILED.*Sample 4 not found", output.ReplaceLineEndings(" "));
        foreach (var (file, id) in Emulator.Ids.Where(kv => kv.Value != 4))
        {
            var sample = await ei.SampleAsync(id);
            AssertOnObjects(file, sample.BoundingBoxes);
            Assert.Equal("owlv2", sample.Metadata!["labeled_by"]);
        }
    }

    [Fact]
    public async Task Preview_AsALaterStepOfAnAction_BuildsOnTheEarlierStepsProposals()
    {
        await using var ei = await Emulator.StartAsync();
        // An earlier step of job 77 (another block) proposed a "person" box for sample 3, which has no boxes itself.
        await ei.Client.SetProposedChangesAsync(1, 3, 77, new StudioProposedChanges([new("person", 400, 40, 120, 200)],
            new Dictionary<string, string> { ["reviewed"] = "step 1" }), default);

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", Prompt, "--nms", "--propose-actions", "77"], ids: [3]);

        Assert.True(exit == OwlboxCli.Ok, output + err);
        Assert.Empty((await ei.SampleAsync(3)).BoundingBoxes);
        var proposed = await ei.Client.GetSampleAsync(1, 3, 77, default);
        Assert.Contains(proposed.BoundingBoxes, b => b is { Label: "person", X: 400 });
        AssertOnObjects("labeled-600x400.jpg", proposed.BoundingBoxes);
        Assert.Equal("step 1", proposed.Metadata!["reviewed"]);
        Assert.Equal("owlv2", proposed.Metadata["labeled_by"]);
    }

    [Fact]
    public async Task ProjectsAsStudioHoldsThem_64BitIds_OtherCategories_FractionalBoxes_AreLabeledLikeAnyOther()
    {
        await using var ei = await Emulator.StartAsync();
        const long big = 5_000_000_001; // above 2^32
        using (var http = new HttpClient())
        {
            async Task SetAsync(int id, object body) => (await http.PostAsJsonAsync($"{ei.Endpoint[..^"/v1".Length]}/_emulator/samples/{id}", body)).EnsureSuccessStatusCode();
            await SetAsync(6, new { id = big });
            await SetAsync(5, new { category = "post-processing" });
            await ei.Client.DisableSampleAsync(1, 4, default); // not listed, but selected by id: labeled, as by the original
            // A fractional box on a sample that is labeled, and one on a sample that is not selected.
            await SetAsync(3, new { boundingBoxes = new[] { new { label = "person", x = 400.4, y = 40.6, width = 120.5, height = 200 } } });
            await SetAsync(2, new { boundingBoxes = new[] { new { label = "cat", x = 1.5, y = 1, width = 5, height = 5 } } });
        }

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", Prompt, "--nms"], ids: [1, 3, 4, 5, big]);

        Assert.True(exit == OwlboxCli.Ok, output + err);
        Assert.Contains("Labeled 5 of 5", output, StringComparison.Ordinal);
        AssertOnObjects("wide-640x360.jpg", (await ei.Client.GetSampleAsync(1, big, null, default)).BoundingBoxes);
        AssertOnObjects("tall-360x640.png", (await ei.SampleAsync(5)).BoundingBoxes);
        AssertOnObjects("rotated-exif6.jpg", (await ei.SampleAsync(4)).BoundingBoxes);
        var labeled = await ei.SampleAsync(3);
        AssertOnObjects("labeled-600x400.jpg", labeled.BoundingBoxes);
        Assert.Contains(labeled.BoundingBoxes, b => b is { Label: "person", X: 400, Y: 41, Width: 121, Height: 200 }); // kept, to the nearest pixel
    }

    [Fact]
    public async Task AnEmptyIdsFile_PrintsAllDone_ExitsZero_AndARunLeavesNoJobStoreBehind()
    {
        await using var ei = await Emulator.StartAsync();
        var before = Directory.GetDirectories(Path.GetTempPath(), "owlbox-block-*").ToHashSet();

        var empty = await ei.RunBlockAsync(["--prompt", "red"], ids: []);
        var one = await ei.RunBlockAsync(["--prompt", "red"], ids: [1]);

        Assert.Equal((OwlboxCli.Ok, "All done!"), (empty.Exit, empty.Out.Trim()));
        Assert.True(one.Exit == OwlboxCli.Ok, one.Out + one.Err);
        Assert.Contains("Labeled 1 of 1", one.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "owlbox-block-*"), d => !before.Contains(d));
    }

    [Fact]
    public async Task EdgeImpulsesOwnNodeSdk_IsServedByTheEmulator()
    {
        await using var ei = await Emulator.StartAsync();
        var modules = Path.Combine(Emulator.RepoRoot, ".cache", "node-ei");
        if (!File.Exists(Path.Combine(modules, "node_modules", "edge-impulse-api", "package.json")))
        {
            Assert.Equal(0, await RunAsync("npm", ["install", "--prefix", modules, "--no-audit", "--no-fund", "edge-impulse-api@1.95.13"], null));
        }
        var script = Path.Combine(AppContext.BaseDirectory, "node", "ei-sdk-probe.js");
        var output = new List<string>();

        var exit = await RunAsync("node", [script], new() { ["EI_API_ENDPOINT"] = ei.Endpoint, ["EI_PROJECT_API_KEY"] = ei.ApiKey, ["NODE_PATH"] = Path.Combine(modules, "node_modules") }, output);

        Assert.True(exit == 0, string.Join("\n", output));
        using var result = JsonDocument.Parse(output.Last(l => l.StartsWith('{')));
        Assert.Equal(1, result.RootElement.GetProperty("pid").GetInt32());
        Assert.Equal("node", result.RootElement.GetProperty("boxes")[0].GetProperty("label").GetString());
        Assert.Equal("node", result.RootElement.GetProperty("metadata").GetProperty("from").GetString());
        Assert.Contains("must be an integer", result.RootElement.GetProperty("refused").GetString(), StringComparison.Ordinal);
    }

    private static async Task<int> RunAsync(string file, string[] args, Dictionary<string, string>? env, List<string>? output = null)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env ?? [])
        {
            info.Environment[k] = v;
        }
        using var p = System.Diagnostics.Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        output?.AddRange((await stdout + await stderr).Split('\n'));
        return p.ExitCode;
    }
}

/// <summary>Sees every message of a job as it travels (serialized, as a broker would carry it).</summary>
public sealed class MessageSpy(List<string> seen) :
    IConsumer<LabelingJobSubmitted>, IConsumer<FetchSample>, IConsumer<ImageFetched>, IConsumer<SampleDetected>,
    IConsumer<SampleFailed>, IConsumer<SampleWritten>, IConsumer<LabelingJobCompleted>
{
    private Task Record<T>(ConsumeContext<T> context) where T : class
    {
        lock (seen)
        {
            seen.Add(JsonSerializer.Serialize(context.Message) + string.Join(";", context.Headers.GetAll().Select(h => $"{h.Key}={h.Value}")));
        }
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<LabelingJobSubmitted> context) => Record(context);
    public Task Consume(ConsumeContext<FetchSample> context) => Record(context);
    public Task Consume(ConsumeContext<ImageFetched> context) => Record(context);
    public Task Consume(ConsumeContext<SampleDetected> context) => Record(context);
    public Task Consume(ConsumeContext<SampleFailed> context) => Record(context);
    public Task Consume(ConsumeContext<SampleWritten> context) => Record(context);
    public Task Consume(ConsumeContext<LabelingJobCompleted> context) => Record(context);
}
