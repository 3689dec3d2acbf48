namespace Owlbox.Cli;

/// <summary>Reads <c>--name value</c>, <c>--name=value</c> and flags (<c>--nms</c>, or <c>--nms true|false</c>) against
/// a fixed list of names, so a typo is an error that names the argument instead of being silently ignored.</summary>
public sealed class ArgumentReader
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <param name="ignoreUnknown">Skip unknown <c>--name [value]</c> pairs instead of failing (Studio passes arguments a
    /// block does not declare, and a block must run regardless).</param>
    public ArgumentReader(IReadOnlyList<string> args, IReadOnlySet<string> valueNames, IReadOnlySet<string> flagNames, bool ignoreUnknown = false)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                Positionals.Add(arg);
                continue;
            }
            var name = arg;
            string? inline = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                (name, inline) = (arg[..eq], arg[(eq + 1)..]);
            }
            if (flagNames.Contains(name))
            {
                var value = inline;
                if (value is null && i + 1 < args.Count && args[i + 1] is "true" or "false")
                {
                    value = args[++i];
                }
                _values[name] = value ?? "true";
                if (_values[name] is not ("true" or "false"))
                {
                    throw new UsageException($"{name} takes true or false, got '{_values[name]}'");
                }
            }
            else if (valueNames.Contains(name))
            {
                if (inline is null && i + 1 >= args.Count)
                {
                    throw new UsageException($"{name} needs a value");
                }
                _values[name] = inline ?? args[++i];
            }
            else if (ignoreUnknown)
            {
                if (inline is null && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    i++;
                }
            }
            else
            {
                throw new UsageException($"unknown argument '{name}'");
            }
        }
    }

    public List<string> Positionals { get; } = [];

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Flag(string name, bool fallback) => _values.TryGetValue(name, out var v) ? v == "true" : fallback;

    /// <summary>A number option; an empty value counts as absent, as Studio may pass unset optional parameters.</summary>
    public double Number(string name, double fallback)
    {
        var raw = Get(name);
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }
        return double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new UsageException($"{name} must be a number, got '{raw}'");
    }
}

/// <summary>The command line is wrong; printed with a hint, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);
