using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Owlbox.Cli;

/// <summary>How an owlbox option is declared and read: every option of every verb is made here, so its help, its
/// default and its parsing are one declaration.</summary>
public static class CliOptions
{
    /// <summary>A number option. An empty value counts as absent, as Studio may pass unset optional parameters; a value
    /// that is not a finite number is an error that names the option.</summary>
    public static Option<double> Number(string name, string description, double fallback, string helpName = "number") => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => fallback,
        CustomParser = result =>
        {
            var raw = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (string.IsNullOrWhiteSpace(raw))
            {
                return fallback;
            }
            if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
            {
                return value;
            }
            result.AddError($"{name} must be a number, got '{raw}'");
            return fallback;
        },
    };

    /// <summary>A text option, absent unless given (or <paramref name="fallback"/>, shown in the help).</summary>
    public static Option<string> Text(string name, string description, string helpName, string? fallback = null)
    {
        var option = new Option<string>(name) { Description = description, HelpName = helpName };
        if (fallback is not null)
        {
            option.DefaultValueFactory = _ => fallback;
        }
        return option;
    }

    /// <summary>A flag: <c>--name</c>, or <c>--name true|false</c>.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>A positional argument the verb needs exactly once.</summary>
    public static Argument<string> Positional(string name, string description) => new(name) { Description = description };

    /// <summary>The option was on the command line (not a default).</summary>
    public static bool IsGiven(this ParseResult parsed, Option option) => parsed.GetResult(option) is { Implicit: false };

    /// <summary>A flag's value, or <paramref name="fallback"/> when it was not given.</summary>
    public static bool Flag(this ParseResult parsed, Option<bool> option, bool fallback) => parsed.IsGiven(option) ? parsed.GetValue(option) : fallback;

    /// <summary>A command whose action gets the one stop token (<see cref="StopSignal"/>) and returns an exit code.</summary>
    public static Command WithAction(this Command command, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(action);
        return command;
    }

    public static Command WithOptions(this Command command, IEnumerable<Option> options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
        return command;
    }
}

/// <summary>The command line is wrong; printed with a pointer to the verb's help, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Where a command writes, and the bus tap tests give in-process jobs.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, Action<MassTransit.IBusRegistrationConfigurator>? BusTap = null);
