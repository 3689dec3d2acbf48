using System.Text.Json;
using Owlbox.LlmEmulator;

namespace Owlbox.Verification.Tests;

/// <summary>The verifier against the LLM emulator, which answers each crop's dominant colour.</summary>
public sealed class VerifierTests : IDisposable
{
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("owlbox-verify-").FullName;
    private static readonly byte[] Image = Shapes.Png();

    // Right, mislabelled, mislabelled, on background, and a label not selected.
    private static readonly VerifyBox[] Boxes =
    [
        new("red", Shapes.Red, 0.3),
        new("red", Shapes.Green, 0.2),
        new("Green", Shapes.Blue, null),
        new("blue", Shapes.Empty, 0.1),
        new("person", Shapes.Blue, 0.1),
    ];

    private static VerifierOptions Options(Action<VerifierOptions>? _ = null) => new()
    {
        WhichLabels = ["red", "green", "blue"],
        Prompt = "What colour is this square? Answer with one word; say 'background' if there is no square.",
        DisableLabels = ["background"],
        AllowedLabels = ["red", "green", "blue"],
        ImageQuality = ImageDetail.Low,
        Concurrency = 4,
    };

    private static void AssertColourDecisions(ImageVerification result)
    {
        var d = result.Decisions;
        Assert.Equal(
            [(DecisionKind.Kept, "red"), (DecisionKind.Relabelled, "green"), (DecisionKind.Relabelled, "blue"), (DecisionKind.Removed, "blue"), (DecisionKind.NotSelected, "person")],
            d.Select(x => (x.Kind, x.Label)).ToArray());
        Assert.Equal(["red", "red", "Green", "blue", "person"], d.Select(x => x.From).ToArray());
        Assert.Equal("relabelled from red", d[1].Describe());
        Assert.All(d.Take(4), x => Assert.Equal("gpt-4o-2024-08-06", x.Model));
    }

    [Theory]
    [InlineData(ReplyFlavor.OpenAi)]
    [InlineData(ReplyFlavor.Ollama)]
    [InlineData(ReplyFlavor.Vllm)]
    public async Task Keeps_relabels_and_removes_as_the_crops_say_and_adds_up_the_usage(ReplyFlavor flavor)
    {
        await using var server = await LlmEmulatorServer.StartAsync(flavor: flavor);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir));
        var result = await verifier.VerifyAsync(Image, Boxes, default);

        AssertColourDecisions(result);
        Assert.False(result.Failed);
        Assert.Equal((4, 0), (result.Calls, result.CacheHits));
        Assert.Equal(4, server.Calls.Count);
        // Structured output asked for, with the allowed answers as the schema's enum, answered as {"label": ...}.
        var body = JsonDocument.Parse(server.Calls.First().Body).RootElement;
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal(["red", "green", "blue", "background"],
            format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("label").GetProperty("enum")
                .EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.StartsWith("{\"label\":", result.Decisions[0].RawAnswer, StringComparison.Ordinal);
        // The crop went as a base64 JPEG data URL with detail low, after the prompt text, as the block sends it.
        var content = body.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("text", content[0].GetProperty("type").GetString());
        Assert.Equal(Options().Prompt, content[0].GetProperty("text").GetString());
        Assert.StartsWith("data:image/jpeg;base64,", content[1].GetProperty("image_url").GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.All(server.Calls, c => Assert.Equal("low", c.Detail));
        // Usage: 85 image tokens (detail low) plus the prompt per call, read from every flavour's usage.
        Assert.True(result.Usage.InputTokens >= 4 * 85, $"input tokens {result.Usage.InputTokens}");
        Assert.True(result.Usage.OutputTokens >= 4, $"output tokens {result.Usage.OutputTokens}");
        Assert.Equal(result.Usage, verifier.Usage);
    }

    [Fact]
    public async Task A_second_run_answers_from_the_cache_without_a_call()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        using (var first = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir)))
        {
            await first.VerifyAsync(Image, Boxes, default);
        }
        var before = server.Calls.Count;
        using var second = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir));
        var result = await second.VerifyAsync(Image, Boxes, default);

        Assert.Equal(4, before);
        Assert.Equal(before, server.Calls.Count);
        AssertColourDecisions(result);
        Assert.Equal((0, 4, TokenUsage.Zero), (result.Calls, result.CacheHits, result.Usage));
        Assert.All(result.Decisions.Take(4), d => Assert.True(d.Cached));
    }

    [Fact]
    public async Task The_budget_caps_the_calls_and_says_what_it_left()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        var budget = new CallBudget(2);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir), budget);
        var result = await verifier.VerifyAsync(Image, Boxes, default);

        Assert.Equal(2, server.Calls.Count);
        Assert.Equal((2L, 2L), (budget.Used, budget.Left));
        Assert.Equal(2, result.Decisions.Count(d => d.Kind == DecisionKind.BudgetSpent));
        // Boxes left by the budget are unchanged.
        Assert.All(result.Decisions.Where(d => d.Kind == DecisionKind.BudgetSpent), d => Assert.Equal(d.From, d.Label));
    }

    [Fact]
    public async Task Verify_below_asks_only_about_low_scores_and_always_about_hand_drawn_boxes()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options() with { VerifyBelow = 0.25 }, NoAnswerCache.Instance);
        var result = await verifier.VerifyAsync(Image, Boxes, default);

        Assert.Equal(
            [DecisionKind.ScoreAbove, DecisionKind.Relabelled, DecisionKind.Relabelled, DecisionKind.Removed, DecisionKind.NotSelected],
            result.Decisions.Select(d => d.Kind).ToArray());
        Assert.Equal(3, server.Calls.Count);
    }

    [Fact]
    public async Task Crops_are_cut_where_a_viewer_sees_the_box_in_an_EXIF_rotated_photo()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options(), NoAnswerCache.Instance);
        var result = await verifier.VerifyAsync(Shapes.RotatedJpeg(), Boxes, default);

        AssertColourDecisions(result);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task No_more_calls_are_in_flight_than_the_concurrency(int concurrency)
    {
        await using var server = await LlmEmulatorServer.StartAsync(new EmulatorFaults { LatencyMs = 300 });
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options() with { Concurrency = concurrency }, NoAnswerCache.Instance);
        // Two images at once share the bound: 8 boxes to ask about.
        var results = await Task.WhenAll(verifier.VerifyAsync(Image, Boxes, default), verifier.VerifyAsync(Image, Boxes, default));

        Assert.All(results, AssertColourDecisions);
        Assert.Equal(8, server.Calls.Count);
        // Reached (the calls did overlap) and never passed.
        Assert.Equal(concurrency, server.Stats.MaxInFlight);
    }

    [Fact]
    public async Task A_429_is_retried_after_the_Retry_After_it_names()
    {
        var faults = new EmulatorFaults { ByCall = { [1] = new Fault { Kind = FaultKind.RateLimit, RetryAfterSeconds = 1 } } };
        await using var server = await LlmEmulatorServer.StartAsync(faults);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options() with { Concurrency = 1 }, NoAnswerCache.Instance);
        var result = await verifier.VerifyAsync(Image, Boxes[..1], default);

        Assert.Equal(DecisionKind.Kept, result.Decisions[0].Kind);
        var calls = server.Calls.OrderBy(c => c.Number).ToList();
        Assert.Equal([429, 200], calls.Select(c => c.Status).ToArray());
        // The backoff is 10 ms; only the header explains a second's wait.
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromSeconds(0.95), $"retried after {(calls[1].At - calls[0].At).TotalMilliseconds} ms");
        // One box, one call of the budget, however many attempts.
        Assert.Equal(1, result.Calls);
    }

    [Fact]
    public async Task A_500_is_retried()
    {
        var faults = new EmulatorFaults { ByCall = { [1] = new Fault { Kind = FaultKind.ServerError }, [2] = new Fault { Kind = FaultKind.ServerError } } };
        await using var server = await LlmEmulatorServer.StartAsync(faults);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options() with { Concurrency = 1 }, NoAnswerCache.Instance);
        var result = await verifier.VerifyAsync(Image, Boxes[1..2], default);

        Assert.Equal(DecisionKind.Relabelled, result.Decisions[0].Kind);
        Assert.Equal([500, 500, 200], server.Calls.OrderBy(c => c.Number).Select(c => c.Status).ToArray());
    }

    /// <summary>--llm-retries 0 (the option allows it) once reached Polly, which refuses 0 attempts, as an internal error.</summary>
    [Fact]
    public async Task No_retries_asks_once_and_fails_the_box_on_a_500()
    {
        var faults = new EmulatorFaults { ByCall = { [1] = new Fault { Kind = FaultKind.ServerError } } };
        await using var server = await LlmEmulatorServer.StartAsync(faults);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client(maxRetries: 0)), Options() with { Concurrency = 1 }, NoAnswerCache.Instance);
        var result = await verifier.VerifyAsync(Image, Boxes[1..2], default);

        Assert.Equal(DecisionKind.Failed, result.Decisions[0].Kind);
        Assert.Equal([500], server.Calls.Select(c => c.Status).ToArray());
    }

    [Fact]
    public async Task A_hanging_call_times_out_and_fails_only_its_box()
    {
        var faults = new EmulatorFaults { ByColour = { ["green"] = new Fault { Kind = FaultKind.Hang } } };
        await using var server = await LlmEmulatorServer.StartAsync(faults);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client(perCall: TimeSpan.FromMilliseconds(500), maxRetries: 1)), Options(),
            new FileAnswerCache(_cacheDir));
        var result = await verifier.VerifyAsync(Image, Boxes, default);

        var failed = Assert.Single(result.Decisions, d => d.IsFailure);
        Assert.Equal((1, "red"), (failed.Index, failed.Label));
        Assert.Contains("did not answer within 0.5 s", failed.Reason, StringComparison.Ordinal);
        Assert.True(result.Failed);
        Assert.Equal([DecisionKind.Kept, DecisionKind.Failed, DecisionKind.Relabelled, DecisionKind.Removed], result.Decisions.Take(4).Select(d => d.Kind).ToArray());
        // Tried twice (one retry), then given up.
        Assert.Equal(2, server.Calls.Count(c => c.Colour == "green"));
    }

    [Fact]
    public async Task Malformed_JSON_and_an_answer_outside_the_allowed_set_fail_their_boxes_and_are_not_cached()
    {
        var faults = new EmulatorFaults
        {
            ByColour =
            {
                ["green"] = new Fault { Kind = FaultKind.MalformedJson },
                ["blue"] = new Fault { Kind = FaultKind.Answer, Answer = "purple" },
            },
        };
        await using var server = await LlmEmulatorServer.StartAsync(faults);
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir));
        var result = await verifier.VerifyAsync(Image, Boxes, default);

        Assert.Equal([DecisionKind.Kept, DecisionKind.Failed, DecisionKind.Failed, DecisionKind.Removed], result.Decisions.Take(4).Select(d => d.Kind).ToArray());
        Assert.Contains("could not be read", result.Decisions[1].Reason, StringComparison.Ordinal);
        Assert.Contains("\"{\"label\":\"purple\"}\" is not one of the allowed answers (red, green, blue, background)", result.Decisions[2].Reason, StringComparison.Ordinal);
        Assert.Equal("Green", result.Decisions[2].Label);

        // The failures are asked again on the next run; the good answers are not.
        var before = server.Calls.Count;
        using var again = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir));
        var second = await again.VerifyAsync(Image, Boxes, default);
        Assert.Equal(2, server.Calls.Count - before);
        Assert.Equal(2, second.CacheHits);
    }

    [Fact]
    public async Task A_server_without_structured_output_is_asked_plainly_and_read_leniently()
    {
        await using var server = await LlmEmulatorServer.StartAsync(new EmulatorFaults { RejectResponseFormat = true });
        using var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options() with { Concurrency = 1 }, NoAnswerCache.Instance);
        var result = await verifier.VerifyAsync(Image, Boxes, default);

        AssertColourDecisions(result);
        // One refusal, then plain questions only.
        Assert.Equal(1, server.Calls.Count(c => c.Status == 400));
        Assert.Equal(4, server.Calls.Count(c => c.Status == 200));
        Assert.All(server.Calls.Where(c => c.Status == 200), c => Assert.DoesNotContain("response_format", c.Body, StringComparison.Ordinal));
        Assert.Equal("red", result.Decisions[0].RawAnswer);
    }

    [Fact]
    public async Task The_key_is_sent_as_the_bearer_token_and_found_nowhere_else()
    {
        await using var server = await LlmEmulatorServer.StartAsync();
        using (var verifier = new BoxVerifier(LlmClient.Create(server.Client()), Options(), new FileAnswerCache(_cacheDir)))
        {
            var result = await verifier.VerifyAsync(Image, Boxes, default);
            Assert.All(server.Calls, c => Assert.Equal("Bearer " + server.ApiKey, c.Authorization));
            Assert.All(server.Calls, c => Assert.DoesNotContain(server.ApiKey, c.Body, StringComparison.Ordinal));
            Assert.DoesNotContain(server.ApiKey, JsonSerializer.Serialize(result), StringComparison.Ordinal);
        }
        Assert.All(Directory.GetFiles(_cacheDir, "*", SearchOption.AllDirectories),
            f => Assert.DoesNotContain(server.ApiKey, File.ReadAllText(f), StringComparison.Ordinal));

        // A wrong key: the server's 401 quotes it in full; the error we raise does not, and stops the run.
        var wrong = "sk-wrong-" + Guid.NewGuid().ToString("N");
        using var bad = new BoxVerifier(LlmClient.Create(server.Client(key: wrong)), Options(), new FileAnswerCache(_cacheDir));
        var e = await Assert.ThrowsAsync<LlmCallException>(() => bad.VerifyAsync(Image, [new VerifyBox("red", new PixelBox(0, 0, 10, 10))], default));
        Assert.Equal(401, e.Status);
        Assert.True(e.IsSetupError);
        Assert.Contains("Incorrect API key provided: ***", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, e.ToString(), StringComparison.Ordinal);
        Assert.Null(e.InnerException);
    }

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);
}
