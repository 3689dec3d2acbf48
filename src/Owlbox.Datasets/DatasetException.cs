namespace Owlbox.Datasets;

/// <summary>A dataset cannot be read or written as asked (missing folder, invalid labels file, unknown sample id).</summary>
public class DatasetException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>This process holds no credential for the dataset (a gateway without the Studio key: only fetchers and
/// writers hold it). The dataset is checked as far as that allows, and listed where the key is.</summary>
public sealed class CredentialNotHeldException(string message) : DatasetException(message);
