using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox serve</c> refuses a configuration that would run wrong, before starting anything, naming the setting.</summary>
public class ServeConfigurationTests
{
    [Theory]
    [InlineData("a misspelt transport", "Owlbox:Transport must be in-memory or rabbitmq, got 'rabitmq'", "--Owlbox:Transport=rabitmq")]
    [InlineData("an unknown role", "--roles takes a comma-separated list", "--roles", "gateway,fetchr")]
    [InlineData("one role on the in-memory bus", "set Owlbox:Transport=rabbitmq", "--roles", "writer")]
    [InlineData("rabbitmq without a shared store", "Owlbox:PostgresConnectionString is required", "--Owlbox:Transport=rabbitmq", "--roles", "writer")]
    [InlineData("split fetcher without claim checks", "Owlbox:MessageDataDirectory is required", "--Owlbox:Transport=rabbitmq", "--Owlbox:PostgresConnectionString=Host=db", "--roles", "fetcher")]
    [InlineData("a negative number", "Owlbox:RetryLimit must be at least 0, got -1", "--Owlbox:RetryLimit=-1", "--Owlbox:Gateway:AllowAnonymous=true")]
    [InlineData("a gateway without keys", "the gateway has no API keys", "--roles", "gateway,fetcher,detector,verifier,writer")]
    [InlineData("a guessable key", "at least 16 characters", "--Owlbox:Gateway:ApiKeys:0=change-me")]
    [InlineData("a number that does not convert", "'Owlbox:RetryLimit'", "--Owlbox:RetryLimit=five")]
    [InlineData("a duration that does not convert", "'Owlbox:StalledAfter'", "--Owlbox:StalledAfter=soon")]
    [InlineData("a duration that is not positive", "Owlbox:StalledAfter must be positive", "--Owlbox:StalledAfter=00:00:00", "--Owlbox:Gateway:AllowAnonymous=true")]
    public async Task BadConfiguration_ExitsOne_NamingTheSetting(string because, string expected, params string[] args)
    {
        var (exit, output, err) = await Workspace.RunAsync(["serve", .. args]);

        Assert.True(exit == OwlboxCli.SetupError, because);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal); // the setting, never a type or a stack trace
        Assert.DoesNotContain("serving", output, StringComparison.Ordinal);
    }
}
