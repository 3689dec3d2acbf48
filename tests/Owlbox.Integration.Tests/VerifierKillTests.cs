using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Owlbox.Cli;
using Owlbox.LlmEmulator;

namespace Owlbox.Integration.Tests;

/// <summary>
/// <c>owlbox label --verify-below</c> on the services: the verifier as a fifth process between detector and writer,
/// killed mid-job and started again. "red green" (labelled red) scores about 0.55 on red and green blocks, so those
/// boxes are verified: the emulator answers each crop's colour (red: kept; green: relabelled); the other lines score
/// 0.9 and are trusted.
/// </summary>
public sealed class VerifierKillTests(Infrastructure infra) : IClassFixture<Infrastructure>, IDisposable
{
    private const string Prompt = "red green (red, 0.05)\nblue (blue, 0.5)\nyellow thing (green, 0.5)";
    private const string Model = "gpt-4o-mini";
    private const int Concurrency = 2;

    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-it-verify-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task VerifierKilledMidJob_EndsWithExactlyTheBoxesOfAnUninterruptedRun_AskingNoCachedCropAgain()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var key = "sk-it-" + Guid.NewGuid().ToString("N");
        var source = Datasets.Create(Path.Combine(_root, "source"), 60, seed: 5);
        Datasets.Copy(source, Path.Combine(_root, "one"));
        Datasets.Copy(source, Path.Combine(_root, "five"));
        var faults = new EmulatorFaults
        {
            ByColour = { [ColourNamer.Background] = new Fault { Kind = FaultKind.Answer, Answer = "remove" } },
        };
        var calls = new ConcurrentQueue<EmulatorCall>();
        var port = OwlboxProcess.FreePort();
        await using var llm = LlmEmulatorApp.Build(key, [$"http://127.0.0.1:{port}"], faults, ReplyFlavor.OpenAi, calls);
        await llm.StartAsync();
        var endpoint = $"http://127.0.0.1:{port}/v1";

        var (expected, uninterruptedCalls) = await OneProcessAsync(Path.Combine(_root, "one"), endpoint, key, calls);
        Assert.True(uninterruptedCalls >= 20, $"too few boxes were verified to interrupt: {uninterruptedCalls}");
        Assert.Contains(expected.Values, boxes => boxes.Contains("\"green\"", StringComparison.Ordinal));
        calls.Clear();

        await using var d = await Deployment.StartAsync(infra, _root);
        var verifierEnvironment = new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = key,
            ["Owlbox__Verifier__Concurrency"] = Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await d.StartAsync("verifier", verifierEnvironment);
        // A third of the calls are answered; the next is held, so the job is certainly still verifying at the kill.
        var gate = new EmulatorGate(uninterruptedCalls / 3);
        faults.Gate = gate;
        var job = await d.SubmitAsync(Path.Combine(_root, "five"), Prompt, verification: new { verifyBelow = 0.6, endpoint, model = Model });

        await gate.Holding;
        d["verifier"].Kill();
        var whileDown = await d.StatusAsync(job);
        gate.Release();
        await d.StartAsync("verifier", verifierEnvironment);
        var done = await d.WaitAsync(job, Deployment.IsFinal, TimeSpan.FromMinutes(5));

        Assert.False(Deployment.IsFinal(whileDown), $"the verifier was killed after the job finished: {whileDown}");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(60, Deployment.Written(done));
        Datasets.AssertSameBoxes(expected, Datasets.BoxesByImage(Path.Combine(_root, "five")));
        // Answers are cached as they arrive: only calls in flight when the process died can be made again.
        Assert.InRange(calls.Count, uninterruptedCalls, uninterruptedCalls + Concurrency);
        foreach (var p in d.Processes)
        {
            Assert.DoesNotContain(key, p.Log, StringComparison.Ordinal);
        }
    }

    private static async Task<(Dictionary<string, string> Boxes, int Calls)> OneProcessAsync(string dataset, string endpoint, string key, ConcurrentQueue<EmulatorCall> calls)
    {
        Environment.SetEnvironmentVariable("OPENAI_API_KEY", key);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await OwlboxCli.RunAsync(["label", dataset, "--model", Path.Combine(OwlboxProcess.RepoRoot, "models", "owlv2-test"),
            "--prompt", Prompt.Replace("\n", "\\n", StringComparison.Ordinal), "--delete_existing_bounding_boxes", "matching-prompt", "--execution-provider", "cpu",
            "--score-floor", "0.1", "--nms-iou-threshold", "0.2", "--verify-below", "0.6", "--llm-endpoint", endpoint, "--llm-model", Model], stdout, stderr);
        Assert.True(exit == OwlboxCli.Ok, $"{stdout}\n{stderr}");
        return (Datasets.BoxesByImage(dataset), calls.Count);
    }
}
