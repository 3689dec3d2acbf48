using Owlbox.Hosting;

namespace Owlbox.Cli.Tests;

/// <summary>Each command checks the settings it relies on (<see cref="OwlboxConcerns"/>), no others.</summary>
public class OwlboxConcernsTests
{
    private static OwlboxOptions BrokerWithoutStore() => new() { Transport = "rabbitmq", RabbitMq = { Host = "mq" }, Roles = ["gateway"] };

    public static TheoryData<string, Func<OwlboxOptions>, OwlboxConcerns, string[]> Cases => new()
    {
        { "defaults are the one-process shape", () => new OwlboxOptions(), OwlboxConcerns.All, [] },
        { "a block following on the broker holds no job store", BrokerWithoutStore, OwlboxConcerns.Transport, [] },
        { "a deployment does", BrokerWithoutStore, OwlboxConcerns.All, ["Owlbox:PostgresConnectionString is required with rabbitmq: every role must share one job store"] },
        { "a misspelt transport, once", () => new OwlboxOptions { Transport = "rabitmq", Roles = ["writer"] }, OwlboxConcerns.All, ["Owlbox:Transport must be in-memory or rabbitmq, got 'rabitmq'"] },
        { "the stages' settings are the work's", () => new OwlboxOptions { Engine = new() { Threads = -1 }, StalledAfter = TimeSpan.Zero }, OwlboxConcerns.Transport | OwlboxConcerns.Deployment, [] },
        {
            "named each", () => new OwlboxOptions { Engine = new() { Threads = -1 }, StalledAfter = TimeSpan.Zero }, OwlboxConcerns.Work,
            ["Owlbox:Engine:Threads must be at least 0, got -1", "Owlbox:StalledAfter must be positive, got 00:00:00"]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_ChecksTheConcernsGiven(string because, Func<OwlboxOptions> options, OwlboxConcerns concerns, string[] expected)
    {
        Assert.True(expected.SequenceEqual(options().Validate(concerns)), $"{because}: {string.Join(" | ", options().Validate(concerns))}");
    }

    [Fact]
    public void Check_ThrowsTheOptionsFrameworksException_WithEveryProblem()
    {
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            OwlboxSettings.Check(new OwlboxOptions { RetryLimit = -1, Fetcher = { Concurrency = 0 } }, OwlboxConcerns.All));
        Assert.Equal(["Owlbox:RetryLimit must be at least 0, got -1", "Owlbox:Fetcher:Concurrency must be at least 1, got 0"], e.Failures);
    }
}
