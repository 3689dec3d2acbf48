using System.Text.Json;
using MassTransit;
using Fault = Owlbox.LlmEmulator.Fault;
using Owlbox.Cli;
using Owlbox.Datasets.Local;
using Owlbox.LlmEmulator;
using Owlbox.ModelTool;

namespace Owlbox.Cli.Tests;

/// <summary>
/// <c>owlbox label --verify-below</c> in one process against the LLM emulator. The colour test model scores a query
/// of two colour words ("red green") about 0.55 on a cell of either colour and a one-word query 0.9 on its own
/// colour, so one prompt gives trusted boxes and low-score ones; the emulator answers each crop's dominant colour, and
/// "remove" where the crop is mostly background (as the default question asks a model to). Serial (one class): the
/// key is this process's OPENAI_API_KEY.
/// </summary>
public sealed class VerifyStageTests : IDisposable
{
    /// <summary>blue (trusted, 0.9); "red green" labelled red (0.55: verified); "cyan" labelled green (only so that
    /// green is an answer the job allows; nothing here is cyan).</summary>
    private const string Prompt = "blue (blue, 0.5)\nred green (red, 0.05)\ncyan (green, 0.5)\n";

    private static readonly string s_key = "sk-vstage-" + Guid.NewGuid().ToString("N");
    private readonly Workspace _ws = new();

    public VerifyStageTests()
    {
        Environment.SetEnvironmentVariable("OPENAI_API_KEY", s_key);
        foreach (var file in Directory.GetFiles(_ws.Dataset))
        {
            File.Delete(file);
        }
        // trusted.png: a blue square (0.9). mixed.png: a red square (0.55, the crop says red: kept) and a green one
        // detected as red (0.55, the crop says green: relabelled). faint.png: a sliver of red detected as red (0.55; its
        // crop is mostly background: removed) beside a blue square (0.9).
        Draw("trusted.png", s => s.Add("blue", s.Cells(Labeling.Boxes.InputLayout.PadBottomRight, 2, 2, 4, 4)));
        Draw("mixed.png", s => s.Add("red", s.Cells(Labeling.Boxes.InputLayout.PadBottomRight, 12, 12, 4, 4))
            .Add("green", s.Cells(Labeling.Boxes.InputLayout.PadBottomRight, 2, 14, 4, 4)));
        Draw("faint.png", s => s.Add("red", new Labeling.Boxes.PixelBox(40, 40, 12, 20))
            .Add("blue", s.Cells(Labeling.Boxes.InputLayout.PadBottomRight, 12, 12, 2, 2)));
    }

    public void Dispose() => _ws.Dispose();

    private void Draw(string name, Action<Scene> draw)
    {
        var scene = new Scene(480, 480);
        draw(scene);
        File.WriteAllBytes(Path.Combine(_ws.Dataset, name), scene.Encode());
    }

    private static EmulatorFaults FollowsTheQuestion() => new()
    {
        ByColour = { [ColourNamer.Background] = new Fault { Kind = FaultKind.Answer, Answer = "remove" } },
    };

    private Task<(int Exit, string Out, string Err)> LabelAsync(LlmEmulatorHost llm, params string[] extra) =>
        Workspace.RunAsync(["label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", Prompt.Replace("\n", "\\n", StringComparison.Ordinal),
            "--execution-provider", "cpu", "--verify-below", "0.6", "--llm-endpoint", llm.Endpoint, "--llm-model", "gpt-4o-mini", .. extra]);

    [Fact]
    public async Task Low_score_detections_are_relabelled_or_removed_as_the_crops_say_and_a_rerun_asks_nothing()
    {
        await using var llm = await LlmEmulatorHost.StartAsync(s_key, FollowsTheQuestion());

        var (exit, output, error) = await LabelAsync(llm);

        Assert.True(exit == OwlboxCli.Ok, output + error);
        Assert.Equal("""
            faint.png: blue@240,240,40,40
            mixed.png: green@40,280,80,80 red@240,240,80,80
            trusted.png: blue@40,40,80,80
            """.ReplaceLineEndings("\n"), _ws.Boxes());
        // Only the three low-score boxes were asked about, each once: the blue ones were trusted.
        Assert.Equal([ColourNamer.Background, "green", "red"], llm.Calls.Select(c => c.Colour!).Order(StringComparer.Ordinal));
        Assert.Matches(@"Vision model usage: Model = gpt-4o-mini, Calls = 3, Answers from cache = 0, Input tokens = [1-9]\d*, Output tokens = [1-9]\d*", output);
        // Provenance in the sample's metadata, beside the block's own keys, as owlbox verify records it.
        var labels = LabelsFile.Load(_ws.LabelsPath);
        var mixedMeta = labels.GetMetadata("mixed.png")!;
        Assert.Equal("gpt-4o-mini", mixedMeta["verified_by"]);
        Assert.Equal("kept 1, relabelled 1", mixedMeta["verify_summary"]);
        Assert.Equal("Which of these is shown in this picture: 'blue', 'red', 'green'? Respond with only that word. If it is none of them, say 'remove'.",
            mixedMeta["verify_prompt"]);
        using (var decisions = JsonDocument.Parse(mixedMeta["verify_decisions"]))
        {
            Assert.Equal(["kept red", "relabelled green from red"], decisions.RootElement.EnumerateArray()
                .Select(d => $"{d.GetProperty("verdict").GetString()} {d.GetProperty("label").GetString()}"
                    + (d.TryGetProperty("from", out var from) ? $" from {from.GetString()}" : ""))
                .Order(StringComparer.Ordinal));
        }
        Assert.Equal("removed 1", labels.GetMetadata("faint.png")!["verify_summary"]);
        Assert.False(labels.GetMetadata("trusted.png")!.ContainsKey("verified_by"));
        var first = File.ReadAllText(_ws.LabelsPath);

        var (again, secondOutput, _) = await LabelAsync(llm);

        Assert.Equal(OwlboxCli.Ok, again);
        Assert.Equal(3, llm.Calls.Count);
        Assert.Contains("Calls = 0, Answers from cache = 3, Input tokens = 0, Output tokens = 0", secondOutput, StringComparison.Ordinal);
        Assert.Equal(first, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task A_preview_keeps_each_verdict_with_its_box_and_the_removed_ones_beside()
    {
        await using var llm = await LlmEmulatorHost.StartAsync(s_key, FollowsTheQuestion());

        var (exit, output, error) = await LabelAsync(llm, "--propose-actions", "v1");

        Assert.True(exit == OwlboxCli.Ok, output + error);
        Assert.False(File.Exists(_ws.LabelsPath));
        using var set = JsonDocument.Parse(File.ReadAllText(Path.Combine(_ws.Dataset, ".owlbox", "proposals", "v1.json")));
        var samples = set.RootElement.GetProperty("samples").EnumerateArray().ToDictionary(s => s.GetProperty("sampleId").GetString()!);
        // The verdicts are owlbox verify's, on the job's detections: each holds the detection as the detector found it.
        var mixed = samples["mixed.png"].GetProperty("verdicts").EnumerateArray()
            .ToDictionary(d => d.GetProperty("label").GetString()!);
        Assert.Equal(("relabelled", "red", "gpt-4o-mini", "red"), (mixed["green"].GetProperty("verdict").GetString(), mixed["green"].GetProperty("from").GetString(),
            mixed["green"].GetProperty("model").GetString(), mixed["green"].GetProperty("detection").GetProperty("label").GetString()));
        Assert.Contains("green", mixed["green"].GetProperty("answer").GetString(), StringComparison.Ordinal); // as received (JSON, asked for by schema)
        Assert.Equal("relabelled to green (was red) by gpt-4o-mini", mixed["green"].GetProperty("text").GetString());
        Assert.Equal("kept", mixed["red"].GetProperty("verdict").GetString());
        Assert.Equal(["green", "red"], samples["mixed.png"].GetProperty("detections").EnumerateArray().Select(d => d.GetProperty("label").GetString()).Order(StringComparer.Ordinal));
        // A removed detection is in no box list: its verdict holds where it was.
        var removed = Assert.Single(samples["faint.png"].GetProperty("verdicts").EnumerateArray());
        Assert.Equal(("red", "removed"), (removed.GetProperty("detection").GetProperty("label").GetString(), removed.GetProperty("verdict").GetString()));
        Assert.InRange(removed.GetProperty("detection").GetProperty("x").GetInt32(), 38, 42); // the sliver drawn at 40,40
        Assert.InRange(removed.GetProperty("detection").GetProperty("y").GetInt32(), 38, 42);
        Assert.Contains("remove", removed.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.Equal(["blue"], samples["faint.png"].GetProperty("detections").EnumerateArray().Select(d => d.GetProperty("label").GetString()));
        Assert.False(samples["trusted.png"].TryGetProperty("verdicts", out _));
    }

    [Fact]
    public async Task A_box_the_model_cannot_answer_for_fails_its_sample_alone_with_its_boxes_unchanged()
    {
        // Green crops get an answer the job does not allow: that box cannot be verified.
        var faults = FollowsTheQuestion();
        faults.ByColour["green"] = new Fault { Kind = FaultKind.Answer, Answer = "purple" };
        await using var llm = await LlmEmulatorHost.StartAsync(s_key, faults);

        var (exit, output, _) = await LabelAsync(llm);

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Matches(@"mixed\.png: the vision model could not verify box \d \(red at 40,280 80x80\)", output);
        Assert.Equal("""
            faint.png: blue@240,240,40,40
            mixed.png: 
            trusted.png: blue@40,40,80,80
            """.ReplaceLineEndings("\n"), _ws.Boxes());
    }

    [Fact]
    public async Task The_key_is_in_nothing_the_run_writes_or_prints()
    {
        await using var llm = await LlmEmulatorHost.StartAsync(s_key, FollowsTheQuestion());

        var (exit, output, error) = await LabelAsync(llm, "--propose-actions", "k1");
        var (applied, output2, error2) = await LabelAsync(llm);

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (exit, applied));
        Assert.All(llm.Calls, c => Assert.Equal("Bearer " + s_key, c.Authorization)); // it was sent, as the bearer token
        var written = Directory.GetFiles(_ws.Dataset, "*", SearchOption.AllDirectories);
        Assert.Contains(written, f => f.EndsWith("jobs.db", StringComparison.Ordinal));
        Assert.Contains(written, f => f.Contains("llm-answers", StringComparison.Ordinal));
        foreach (var file in written)
        {
            Assert.DoesNotContain(s_key, System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(file)), StringComparison.Ordinal);
        }
        Assert.DoesNotContain(s_key, output + error + output2 + error2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_samples_with_a_box_below_verify_below_take_the_extra_hop()
    {
        await using var llm = await LlmEmulatorHost.StartAsync(s_key, FollowsTheQuestion());
        var sent = new System.Collections.Concurrent.ConcurrentBag<string>();
        void Tap(IBusRegistrationConfigurator x) => x.AddHandler<Contracts.V1.VerifySample>(c =>
        {
            sent.Add(c.Message.Detected.SampleId);
            return Task.CompletedTask;
        });
        string[] label = ["label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", Prompt.Replace("\n", "\\n", StringComparison.Ordinal),
            "--execution-provider", "cpu", "--fresh"];

        var (plain, _, _) = await Workspace.RunAsync(Tap, CancellationToken.None, label);
        // Every detection here scores 0.55 or 0.9: none is below 0.5.
        var (trusted, _, _) = await Workspace.RunAsync(Tap, CancellationToken.None, [.. label, "--verify-below", "0.5", "--llm-endpoint", llm.Endpoint]);

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (plain, trusted));
        Assert.Empty(sent);
        Assert.Empty(llm.Calls);

        var (verified, _, _) = await Workspace.RunAsync(Tap, CancellationToken.None, [.. label, "--verify-below", "0.6", "--llm-endpoint", llm.Endpoint]);

        Assert.Equal(OwlboxCli.Ok, verified);
        Assert.Equal(["faint.png", "mixed.png"], sent.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Without_a_key_the_run_stops_at_setup()
    {
        Environment.SetEnvironmentVariable("OPENAI_API_KEY", null);
        try
        {
            var (exit, _, error) = await Workspace.RunAsync(["label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "blue", "--verify-below", "0.6"]);

            Assert.Equal(OwlboxCli.SetupError, exit);
            Assert.Contains("OPENAI_API_KEY", error, StringComparison.Ordinal);
            Assert.False(File.Exists(_ws.LabelsPath));
        }
        finally
        {
            Environment.SetEnvironmentVariable("OPENAI_API_KEY", s_key);
        }
    }
}
