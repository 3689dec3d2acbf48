using Owlbox.Datasets;

namespace Owlbox.Cli.Tests;

/// <summary><c>.owlbox/</c> and everything under it is never reached through a symbolic link: every component from the
/// dataset down is checked, real folders and missing ones pass, the first link is named.</summary>
public sealed class OwlboxFolderTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("owlbox-folder-").FullName;
    private readonly string _dataset;
    private readonly string _outside;

    public OwlboxFolderTests()
    {
        _dataset = Directory.CreateDirectory(Path.Combine(_base, "dataset")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_base, "outside")).FullName;
        Directory.CreateDirectory(Path.Combine(_outside, "embeddings"));
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    [Theory]
    [InlineData("", "embeddings")] // nothing there yet
    [InlineData(".owlbox", "embeddings")] // .owlbox real, embeddings to come
    [InlineData(".owlbox/embeddings", "embeddings")]
    [InlineData(".owlbox/embeddings/ab", "embeddings/ab")]
    public void RealOrMissingFolders_GiveThePath(string existing, string asked)
    {
        if (existing.Length > 0)
        {
            Directory.CreateDirectory(Path.Combine(_dataset, existing));
        }

        var path = OwlboxFolder.TryPathOf(_dataset, out var problem, asked.Split('/'));

        Assert.Null(problem);
        Assert.Equal(Path.Combine([_dataset, ".owlbox", .. asked.Split('/')]), path);
    }

    [Theory]
    [InlineData(".owlbox", ".owlbox", "embeddings")] // the folder itself a link
    [InlineData(".owlbox/embeddings", ".owlbox/embeddings", "embeddings")]
    [InlineData(".owlbox/embeddings/ab", ".owlbox/embeddings/ab", "embeddings/ab")] // deeper
    [InlineData(".owlbox/embeddings", ".owlbox/embeddings", "embeddings/ab")] // a link above what is asked
    public void ALinkOnTheWay_IsRefused_NamingIt(string linkAt, string named, string asked)
    {
        var link = Path.Combine(_dataset, linkAt);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        Directory.CreateSymbolicLink(link, _outside);

        var path = OwlboxFolder.TryPathOf(_dataset, out var problem, asked.Split('/'));

        Assert.Null(path);
        Assert.Contains($"'{Path.Combine(_dataset, named)}' is a symbolic link", problem, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dataset, named), Assert.Throws<DatasetException>(() => OwlboxFolder.PathOf(_dataset, asked.Split('/'))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADanglingLinkOrALinkToAFile_IsALinkToo()
    {
        Directory.CreateDirectory(Path.Combine(_dataset, ".owlbox"));
        File.CreateSymbolicLink(Path.Combine(_dataset, ".owlbox", "calibration.json"), Path.Combine(_outside, "nothing-here.json"));
        File.WriteAllText(Path.Combine(_outside, "real.json"), "{}");
        File.CreateSymbolicLink(Path.Combine(_dataset, ".owlbox", "jobs.db"), Path.Combine(_outside, "real.json"));

        Assert.Null(OwlboxFolder.TryPathOf(_dataset, out _, "calibration.json"));
        Assert.Null(OwlboxFolder.TryPathOf(_dataset, out _, "jobs.db"));
    }

    [Theory]
    [InlineData(".owlbox", "jobs.db")] // the folder itself a file
    [InlineData(".owlbox", "embeddings")]
    [InlineData(".owlbox/proposals", "proposals/p1.json")] // a file where a folder below it goes
    public void AFileWhereAFolderGoes_IsRefused_NamingIt(string fileAt, string asked)
    {
        var file = Path.Combine(_dataset, fileAt);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "x");

        Assert.Null(OwlboxFolder.TryPathOf(_dataset, out var problem, asked.Split('/')));
        Assert.Equal($"'{file}' is a file where Owlbox keeps a folder (its job store, caches and proposals are under .owlbox/); move that file away", problem);
        Assert.Equal(problem, Assert.Throws<DatasetException>(() => OwlboxFolder.PathOf(_dataset, asked.Split('/'))).Message);
    }

    [Fact]
    public void AnExistingFileAsked_IsFine()
    {
        Directory.CreateDirectory(Path.Combine(_dataset, ".owlbox"));
        File.WriteAllText(Path.Combine(_dataset, ".owlbox", "jobs.db"), "");

        Assert.Equal(Path.Combine(_dataset, ".owlbox", "jobs.db"), OwlboxFolder.PathOf(_dataset, "jobs.db"));
    }

    [Fact]
    public void TheDatasetFolderItself_MayBeALink()
    {
        var named = Path.Combine(_base, "named");
        Directory.CreateSymbolicLink(named, _dataset);
        Directory.CreateDirectory(Path.Combine(_dataset, ".owlbox", "embeddings"));

        Assert.Equal(Path.Combine(named, ".owlbox", "embeddings"), OwlboxFolder.PathOf(named, "embeddings"));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    public void APartThatIsNotOneName_IsAProgrammingError(string part) =>
        Assert.Throws<ArgumentException>(() => OwlboxFolder.TryPathOf(_dataset, out _, part));
}
