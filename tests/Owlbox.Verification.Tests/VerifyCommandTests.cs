using Owlbox.Cli;
using Owlbox.Datasets.Proposals;
using Owlbox.LlmEmulator;

namespace Owlbox.Verification.Tests;

/// <summary>
/// <c>owlbox verify</c> through the real CLI entry against the LLM emulator (which answers each crop's dominant
/// colour): issue 25's acceptance on the shapes dataset. The tests of this class set OPENAI_API_KEY, so they run one
/// at a time (one class) and are the only ones here that read it.
/// </summary>
public sealed class VerifyCommandTests : IDisposable
{
    private readonly ShapesDataset _data = new();

    private static async Task<(int Exit, string Out, string Err)> RunAsync(string? key, params string[] args)
    {
        Environment.SetEnvironmentVariable(VerifyOptionGroup.KeyVariable, key);
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var exit = await OwlboxCli.RunAsync(args, stdout, stderr);
            return (exit, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(VerifyOptionGroup.KeyVariable, null);
        }
    }

    private Task<(int Exit, string Out, string Err)> VerifyAsync(LlmEmulatorServer server, params string[] extra) =>
        RunAsync(server.ApiKey, ["verify", _data.Folder, "--llm-endpoint", server.Endpoint.ToString(), .. ShapesDataset.VerifyOptions, .. extra]);

    private void AssertAsTheCropsSay(params string[] except)
    {
        foreach (var (file, _, labelled, truth) in ShapesDataset.Images)
        {
            Assert.Equal(except.Contains(file) ? labelled : truth, _data.Boxes(file));
        }
    }

    [Fact]
    public async Task Verify_keeps_relabels_and_removes_as_the_crops_say_and_a_second_run_makes_no_call()
    {
        await using var server = await LlmEmulatorServer.StartAsync();

        var (exit, stdout, stderr) = await VerifyAsync(server);

        Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
        AssertAsTheCropsSay();
        // The person box (a label not verified) is untouched, in its place.
        Assert.Equal(new Labeling.Boxes.LabeledBox("person", 20, 20, 60, 60), _data.Boxes("a.png")[^1]);
        Assert.Equal(ShapesDataset.AskedBoxes, server.Calls.Count);
        Assert.Contains($"model calls: {ShapesDataset.AskedBoxes}, cache hits: 0", stdout, StringComparison.Ordinal);
        Assert.Contains("8 box(es) kept, 3 relabelled, 3 removed", stdout, StringComparison.Ordinal);
        Assert.Contains("    Model = gpt-4o-2024-08-06", stdout, StringComparison.Ordinal);
        Assert.Matches(@"Input tokens = [1-9]\d+", stdout);
        Assert.Matches(@"Output tokens = [1-9]\d*", stdout);
        // Provenance in the sample's metadata, as string keys.
        var metadata = _data.Metadata("b.png")!;
        Assert.Equal("gpt-4o-2024-08-06", metadata["verified_by"]);
        Assert.Equal(ShapesDataset.Prompt, metadata["verify_prompt"]);
        Assert.Equal("kept 1, relabelled 1, removed 1", metadata["verify_summary"]);
        Assert.Contains("\"from\":\"blue\"", metadata["verify_decisions"], StringComparison.Ordinal);

        var labelsAfterFirst = await File.ReadAllBytesAsync(_data.LabelsPath);
        var (again, stdout2, _) = await VerifyAsync(server);

        Assert.Equal(OwlboxCli.Ok, again);
        Assert.Equal(ShapesDataset.AskedBoxes, server.Calls.Count); // no new call
        Assert.Contains("model calls: 0, cache hits: 11", stdout2, StringComparison.Ordinal); // the removed boxes are gone
        Assert.Equal(labelsAfterFirst, await File.ReadAllBytesAsync(_data.LabelsPath)); // nothing to change, nothing written
    }

    [Fact]
    public async Task Max_llm_calls_makes_at_most_that_many_and_says_what_it_left()
    {
        await using var server = await LlmEmulatorServer.StartAsync();

        var (exit, stdout, stderr) = await VerifyAsync(server, "--max-llm-calls", "5", "--concurrency", "2");

        Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
        Assert.Equal(5, server.Calls.Count);
        Assert.Contains($"--max-llm-calls 5 spent: {ShapesDataset.AskedBoxes - 5} box(es) left as they are", stdout, StringComparison.Ordinal);
        Assert.Contains("model calls: 5", stdout, StringComparison.Ordinal);

        // The next run goes on from the cache and asks only what is left.
        var (next, stdout2, _) = await VerifyAsync(server);
        Assert.Equal(OwlboxCli.Ok, next);
        Assert.Equal(ShapesDataset.AskedBoxes, server.Calls.Count);
        AssertAsTheCropsSay();
        Assert.DoesNotContain("spent", stdout2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_below_trusts_the_boxes_scored_at_or_above_it_and_asks_about_the_rest()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        // b's boxes (one mislabelled, one on background) score above the line and are trusted; d's below it are asked,
        // as are the others' (no score: hand-drawn).
        _data.Scores(("b.png", 0.9), ("d.png", 0.3));
        var bBoxes = ShapesDataset.Images.Single(i => i.File == "b.png").Labelled.Length;

        var (exit, stdout, stderr) = await VerifyAsync(server, "--verify-below", "0.6");

        Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
        Assert.Equal(ShapesDataset.AskedBoxes - bBoxes, server.Calls.Count);
        Assert.Contains($"{bBoxes} at or above --verify-below", stdout, StringComparison.Ordinal);
        AssertAsTheCropsSay(except: "b.png");
    }

    [Fact]
    public async Task A_model_failing_on_some_crops_fails_those_samples_alone_with_exit_2()
    {
        var faults = new EmulatorFaults { ByColour = { ["blue"] = new Fault { Kind = FaultKind.ServerError } } };
        await using var server = await LlmEmulatorServer.StartAsync(faults);

        var (exit, stdout, stderr) = await VerifyAsync(server);

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        AssertAsTheCropsSay(except: "a.png"); // the only image with a blue square keeps its boxes as they were
        Assert.Null(_data.Metadata("a.png"));
        Assert.Contains("1 sample(s) failed", stderr, StringComparison.Ordinal);
        Assert.Matches(@"a\.png: box 2 \(blue at 220,20 60x60\): the model server answered HTTP 500", stderr);
        Assert.DoesNotContain("b.png", stderr, StringComparison.Ordinal);
        Assert.Contains("verified 3 sample(s)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Propose_actions_leaves_the_labels_file_byte_identical_and_writes_a_proposal_set_with_verdicts()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        var before = await File.ReadAllBytesAsync(_data.LabelsPath);

        var (exit, stdout, stderr) = await VerifyAsync(server, "--propose-actions", "check-1");

        Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
        Assert.Equal(before, await File.ReadAllBytesAsync(_data.LabelsPath));
        var set = new ProposalStore(_data.Folder).Load("check-1");
        Assert.Equal(ShapesDataset.Images.Select(i => i.File), set.Samples.Select(s => s.SampleId)); // every sample, changed or not
        foreach (var (file, _, labelled, truth) in ShapesDataset.Images)
        {
            var sample = set.Samples.Single(s => s.SampleId == file);
            Assert.Equal(labelled, sample.ExistingBoxes);
            Assert.Equal(truth, sample.BoundingBoxes);
        }
        var b = set.Samples.Single(s => s.SampleId == "b.png");
        Assert.Equal(["kept", "relabelled", "removed"], b.Verdicts!.Select(v => v.Verdict));
        Assert.Equal(("blue", "red", "relabelled to red (was blue) by gpt-4o-2024-08-06"), (b.Verdicts![1].From, b.Verdicts[1].Label, b.Verdicts[1].Text));

        // The review page shows the verdict beside each label box of the set.
        var state = Cli.Review.ReviewState.Build(Datasets.Local.LocalDataset.Open(_data.Folder), new ProposalStore(_data.Folder), "check-1", false);
        var shown = state.Images.Single(i => i.Id == "b.png").Labels;
        Assert.Equal(["kept by gpt-4o-2024-08-06", "relabelled to red (was blue) by gpt-4o-2024-08-06", "removed by gpt-4o-2024-08-06 (answer: background)"],
            shown.Select(l => l.Verdict));

        // Applied, the labels become what the crops say.
        var (applied, _, applyErr) = await RunAsync(null, "proposals", "apply", _data.Folder, "check-1");
        Assert.True(applied == OwlboxCli.Ok, applyErr);
        AssertAsTheCropsSay();
    }

    [Fact]
    public async Task The_key_is_sent_as_the_bearer_token_and_found_nowhere_else()
    {
        await using var server = await LlmEmulatorServer.StartAsync();

        var (exit, stdout, stderr) = await VerifyAsync(server, "--max-llm-calls", "6");
        var (preview, stdout2, stderr2) = await VerifyAsync(server, "--propose-actions", "p");

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (exit, preview));
        Assert.NotEmpty(server.Calls);
        Assert.All(server.Calls, c => Assert.Equal("Bearer " + server.ApiKey, c.Authorization));
        Assert.DoesNotContain(server.ApiKey, stdout + stderr + stdout2 + stderr2, StringComparison.Ordinal);
        Assert.DoesNotContain(server.ApiKey, await File.ReadAllTextAsync(_data.LabelsPath), StringComparison.Ordinal);
        var owned = Directory.GetFiles(Path.Combine(_data.Folder, ".owlbox"), "*", SearchOption.AllDirectories);
        Assert.Contains(owned, f => f.Contains("llm-answers", StringComparison.Ordinal));
        Assert.All(owned, f => Assert.DoesNotContain(server.ApiKey, File.ReadAllText(f), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_key_stops_at_setup_without_echoing_it_and_a_missing_key_is_named()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        var before = await File.ReadAllBytesAsync(_data.LabelsPath);

        var (missing, _, missingErr) = await RunAsync(null, ["verify", _data.Folder, "--llm-endpoint", server.Endpoint.ToString(), .. ShapesDataset.VerifyOptions]);
        var wrongKey = "sk-wrong-" + Guid.NewGuid().ToString("N");
        var (wrong, stdout, stderr) = await RunAsync(wrongKey, ["verify", _data.Folder, "--llm-endpoint", server.Endpoint.ToString(), .. ShapesDataset.VerifyOptions]);

        Assert.Equal(OwlboxCli.SetupError, missing);
        Assert.Contains("Missing OPENAI_API_KEY", missingErr, StringComparison.Ordinal);
        Assert.Equal(OwlboxCli.SetupError, wrong);
        Assert.Contains("HTTP 401", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, stdout + stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(_data.LabelsPath));
    }

    [Fact]
    public async Task Eval_verify_reports_AP_before_and_after_with_the_calls_and_tokens_and_writes_nothing()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        var truth = _data.TruthCopy();
        var before = await File.ReadAllBytesAsync(_data.LabelsPath);

        var (exit, stdout, stderr) = await RunAsync(server.ApiKey,
            ["eval", _data.Folder, "--truth", truth, "--verify", "--json", "--llm-endpoint", server.Endpoint.ToString(), .. ShapesDataset.VerifyOptions]);

        Assert.True(exit == OwlboxCli.Ok, stdout + stderr);
        var result = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        var (was, now) = (result.GetProperty("before").GetProperty("ap50").GetDouble(), result.GetProperty("after").GetProperty("ap50").GetDouble());
        Assert.True(now > was, $"AP50 before {was}, after {now}");
        Assert.Equal(1.0, now, 6); // every box as the truth has it
        Assert.Equal(ShapesDataset.AskedBoxes, result.GetProperty("calls").GetInt32());
        Assert.True(result.GetProperty("input_tokens").GetInt64() >= 85 * ShapesDataset.AskedBoxes);
        Assert.True(result.GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal(before, await File.ReadAllBytesAsync(_data.LabelsPath));
        Assert.False(Directory.Exists(Path.Combine(_data.Folder, ".owlbox", "proposals")));

        // The text report says the same; and verify afterwards applies those answers without asking again.
        var (_, text, _) = await RunAsync(server.ApiKey,
            ["eval", _data.Folder, "--truth", truth, "--verify", "--llm-endpoint", server.Endpoint.ToString(), .. ShapesDataset.VerifyOptions]);
        Assert.Matches(@"before verification: AP50 0\.\d+", text);
        Assert.Contains("after verification:  AP50 1.000", text, StringComparison.Ordinal);
        Assert.Contains("Input tokens = 0", text, StringComparison.Ordinal); // all cached this time
        var (applied, _, _) = await VerifyAsync(server);
        Assert.Equal(OwlboxCli.Ok, applied);
        Assert.Equal(ShapesDataset.AskedBoxes, server.Calls.Count);
        AssertAsTheCropsSay();
    }

    [Theory]
    [InlineData("--image-quality", "best", "--image-quality must be auto, low or high")]
    [InlineData("--concurrency", "0", "--concurrency must be a whole number from 1 to 1000")]
    [InlineData("--max-llm-calls", "-1", "--max-llm-calls must be a number from 0 up")]
    [InlineData("--verify-below", "2", "--verify-below must be a number from 0 to 1")]
    [InlineData("--llm-endpoint", "localhost:11434", "--llm-endpoint must be an http(s) URL")]
    public async Task Bad_options_are_named_with_exit_1(string option, string value, string message)
    {
        var others = ShapesDataset.VerifyOptions.Chunk(2).Where(o => o[0] != option).SelectMany(o => o);
        var (exit, _, stderr) = await RunAsync("sk-x", ["verify", _data.Folder, .. others, option, value]);
        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _data.Dispose();
}
