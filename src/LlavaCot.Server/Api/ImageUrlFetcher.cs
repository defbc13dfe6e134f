using System.Net;
using LlavaCot.Server.Hosting;
using LlavaCot.Server.OpenAi;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Api;

/// <summary>
/// Reads a chat request's image: a data: URI in place, an http(s) URL fetched only from the hosts the operator
/// listed (<see cref="ServerOptions.ImageUrlHosts"/>), redirects followed only while they stay on the list, with a
/// size limit and a timeout. Anything else is a field error that says what to do instead.
/// </summary>
public sealed class ImageUrlFetcher(IOptions<ServerOptions> options) : IDisposable
{
    public const int MaxRedirects = 5;

    private readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<byte[]?> ReadAsync(ImageReference image, FieldErrors errors, CancellationToken ct)
    {
        var url = image.Url.Trim();
        if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            // Base64 has no colon: anything with a scheme other than data: is a URL this server does not fetch.
            if (url.IndexOf(':') is > 0 and var colon && !url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(image.Field, $"'{url[..colon]}' URLs are not fetched; send a data: URI or an http(s) URL");
                return null;
            }
            return ImageData.Decode(url, image.Field, errors);
        }
        var o = options.Value;
        var hosts = o.ImageUrlHostList;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            errors.Add(image.Field, "is not a valid URL");
            return null;
        }
        if (hosts.Count == 0)
        {
            errors.Add(image.Field, "image URLs are not fetched on this server; send the image as a data: URI, or have the operator " +
                                    $"list the host in {ServerOptions.Section}:{nameof(ServerOptions.ImageUrlHosts)}");
            return null;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(o.ImageUrlTimeoutSeconds));
        try
        {
            for (var hop = 0; hop <= MaxRedirects; hop++)
            {
                if (uri.Scheme is not ("http" or "https") || !Allowed(uri, hosts))
                {
                    errors.Add(image.Field, $"host '{uri.Host}' is not on the image URL allow-list" + (hop > 0 ? $" (redirected from {url})" : "") +
                                            $"; send a data: URI, or have the operator add it to {ServerOptions.Section}:{nameof(ServerOptions.ImageUrlHosts)}");
                    return null;
                }
                using var response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    uri = new Uri(uri, location);
                    continue;
                }
                if (!response.IsSuccessStatusCode)
                {
                    errors.Add(image.Field, $"fetching {uri} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                    return null;
                }
                if (response.Content.Headers.ContentLength > o.ImageUrlMaxBytes)
                {
                    errors.Add(image.Field, $"the image at {uri} is {response.Content.Headers.ContentLength} bytes; the limit is {o.ImageUrlMaxBytes}");
                    return null;
                }
                var bytes = await ReadCappedAsync(response, o.ImageUrlMaxBytes, timeout.Token);
                if (bytes is null)
                    errors.Add(image.Field, $"the image at {uri} is larger than the limit of {o.ImageUrlMaxBytes} bytes");
                else if (bytes.Length == 0)
                    errors.Add(image.Field, $"the image at {uri} is empty");
                return bytes;
            }
            errors.Add(image.Field, $"more than {MaxRedirects} redirects from {url}");
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            errors.Add(image.Field, $"fetching {uri} took longer than {o.ImageUrlTimeoutSeconds} s");
            return null;
        }
        catch (HttpRequestException ex)
        {
            errors.Add(image.Field, $"could not fetch {uri}: {ex.Message}");
            return null;
        }
    }

    /// <summary>
    /// Whether the URL's host is listed: a name exactly (or under a listed "*.domain"), an IP literal only when that
    /// literal is listed, so that a wildcard never opens addresses.
    /// </summary>
    public static bool Allowed(Uri uri, IReadOnlyList<string> hosts)
    {
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            var address = IPAddress.Parse(uri.Host.Trim('[', ']'));
            return hosts.Any(h => IPAddress.TryParse(h.Trim('[', ']'), out var listed) && listed.Equals(address));
        }
        var host = uri.IdnHost.TrimEnd('.');
        return hosts.Any(h => h.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(h[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(h, host, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The body, or null when it runs past <paramref name="limit"/> bytes (read no further than that).</summary>
    private static async Task<byte[]?> ReadCappedAsync(HttpResponseMessage response, long limit, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit)
                return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    public void Dispose() => _client.Dispose();
}
