namespace Owlbox.Datasets.Local;

/// <summary>An image of a local dataset. Its id is its file name; an ids file may also name it by its stem
/// (<c>17</c> selects <c>17.jpg</c>), so Edge Impulse-style integer ids work on exported folders.</summary>
public sealed record LocalSample(string Id, string FullPath);
