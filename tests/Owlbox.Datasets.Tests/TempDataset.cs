using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>A dataset folder of a few images (bytes never decoded by these tests) and its labels file.</summary>
public sealed class TempDataset : IDisposable
{
    public TempDataset(params string[] images)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("owlbox-datasets-").FullName;
        foreach (var image in images)
        {
            File.WriteAllBytes(Path.Combine(Directory, image), [0xFF, 0xD8, 0xFF]);
        }
    }

    public string Directory { get; }

    public string LabelsPath => Path.Combine(Directory, LabelsFile.FileName);

    public IReadOnlyList<LabeledBox> Boxes(string image) => LabelsFile.Load(LabelsPath).GetBoxes(image);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
