using System.Diagnostics.Metrics;

namespace Owlbox.Models;

/// <summary>
/// <c>owlbox.model.reads</c> on the <c>Owlbox</c> meter (which the services export): each read of a model directory
/// (<c>file</c>=config.json) or tokenizer (<c>file</c>=tokenizer.json) from disk, tagged with its <c>directory</c>.
/// With the <see cref="ModelCatalog"/> it stays at one of each per model and variant per process; a climbing count
/// is a path that reads the model again.
/// </summary>
public static class ModelReads
{
    public const string InstrumentName = "owlbox.model.reads";

    private static readonly Meter s_meter = new("Owlbox");

    private static readonly Counter<long> s_reads = s_meter.CreateCounter<long>(InstrumentName, "{read}",
        "Model directories (file=config.json) and tokenizers (file=tokenizer.json) read from disk");

    internal static void Record(string file, string directory) =>
        s_reads.Add(1, new("file", file), new("directory", Path.GetFullPath(directory)));
}
