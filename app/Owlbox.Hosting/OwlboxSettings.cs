using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Owlbox.Hosting;

/// <summary>
/// The <c>Owlbox</c> configuration section read once, at a command's start, and checked before anything runs: a value
/// that does not convert (<c>Owlbox__RetryLimit=five</c>) or would run wrong (<c>Owlbox__Transport=rabitmq</c>) throws
/// <see cref="OptionsValidationException"/> naming each setting, for the command to print in one line each (exit 1).
/// </summary>
public static class OwlboxSettings
{
    /// <summary>Binds <paramref name="configuration"/>'s <c>Owlbox</c> section, lets the command set what it decides
    /// itself (<paramref name="adjust"/>: its roles, its transport), then checks the <paramref name="concerns"/> it uses.</summary>
    /// <exception cref="OptionsValidationException">A setting does not convert or would run wrong; every one is named.</exception>
    public static OwlboxOptions Bind(IConfiguration configuration, OwlboxConcerns concerns, Action<OwlboxOptions>? adjust = null)
    {
        var options = new OwlboxOptions();
        try
        {
            configuration.GetSection(OwlboxOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder names the setting ("Failed to convert configuration value 'five' at 'Owlbox:RetryLimit' to type
            // 'System.Int32'"); its inner exception says why (a malformed TimeSpan, a number out of range).
            throw Invalid([e.InnerException is { } why ? $"{e.Message} ({why.Message})" : e.Message]);
        }
        adjust?.Invoke(options);
        return Check(options, concerns);
    }

    /// <summary>Checks options a command composed itself (<c>owlbox label</c> from its own arguments).</summary>
    /// <exception cref="OptionsValidationException">A setting would run wrong; every one is named.</exception>
    public static OwlboxOptions Check(OwlboxOptions options, OwlboxConcerns concerns)
    {
        var result = new OwlboxOptionsValidation(concerns).Validate(Options.DefaultName, options);
        return result.Failed ? throw Invalid(result.Failures) : options;
    }

    private static OptionsValidationException Invalid(IEnumerable<string> failures) =>
        new(Options.DefaultName, typeof(OwlboxOptions), failures);
}
