using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox jobs redrive</c> reads the broker settings <c>serve</c> reads: a bad one stops it before it
/// connects to anything, named, in one line.</summary>
public class JobsConfigurationTests
{
    [Theory]
    [InlineData("a misspelt transport", "Owlbox:Transport must be in-memory or rabbitmq, got 'rabitmq'", "--Owlbox:Transport=rabitmq")]
    [InlineData("a number that does not convert", "'Owlbox:RetryLimit'", "--Owlbox:Transport=rabbitmq", "--Owlbox:RetryLimit=five")]
    [InlineData("a broker with no host", "Owlbox:RabbitMq:Host is empty", "--Owlbox:Transport=rabbitmq", "--Owlbox:RabbitMq:Host= ")]
    public async Task BadConfiguration_ExitsOne_NamingTheSetting(string because, string expected, params string[] settings)
    {
        var (exit, output, err) = await Workspace.RunAsync(["jobs", "redrive", Guid.NewGuid().ToString(), .. settings]);

        Assert.True(exit == OwlboxCli.SetupError, because + ": " + err);
        Assert.StartsWith("error: the configuration would not run:", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
        Assert.Equal("", output);
    }
}
