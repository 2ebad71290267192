"""Search over packed binary codes by Hamming distance (semantic hashing)."""

import numpy as np

from keras_ae.tasks._common import check_k, check_labels
from keras_ae.utils.validation import check_number

# Bits set in each byte value, for NumPy versions without `np.bitwise_count`.
_POPCOUNT8 = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)
# Distances are computed and ranked per block of queries: about this many
# (query, item) pairs, small enough that the block's temporaries stay in cache.
_BLOCK_PAIRS = 1 << 18


def _popcount(words):
    """Set bits of each uint64 in `words`."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    as_bytes = words.view(np.uint8).reshape(words.shape + (8,))
    return _POPCOUNT8[as_bytes].sum(axis=-1, dtype=np.uint8)


def _to_words(codes):
    """`(N, n_bytes)` uint8 -> `(N, ceil(n_bytes / 8))` uint64 (zero padded)."""
    pad = (-codes.shape[1]) % 8
    if pad:
        codes = np.pad(codes, ((0, 0), (0, pad)))
    return np.ascontiguousarray(codes).view(np.uint64)


class HammingIndex:
    """An exhaustive Hamming-distance index over packed binary codes.

    Codes are `uint8` rows as `numpy.packbits` (or `SemanticHashingAE.hash`)
    writes them. Each search XORs the query words with every database word
    (64 bits at a time) and counts the set bits with a popcount, block by
    block of queries, vectorized; `query` then finds each query's k-th
    smallest distance from a histogram of its distances and sorts only the
    codes up to it, a whole block at a time. Ties are broken by database index, so results
    are deterministic.

    Args:
        codes: uint8 array `(N, n_bytes)` of packed database codes.
        n_bits: the code length in bits (default `8 * n_bytes`); the bits
            past it in the last byte (np.packbits's padding) must be 0.

    Example:
        >>> db = np.packbits(np.random.default_rng(0).random((1000, 64)) > 0.5, axis=1)
        >>> index = HammingIndex(db)
        >>> idx, dist = index.query(db[:3], k=5)
        >>> idx[:, 0].tolist(), dist[:, 0].tolist()
        ([0, 1, 2], [0, 0, 0])
    """

    def __init__(self, codes, n_bits=None):
        codes = self._check_codes(codes, None, "codes")
        if len(codes) == 0:
            raise ValueError("codes is empty: the index needs at least one code")
        self.n_bytes = codes.shape[1]
        if n_bits is None:
            n_bits = 8 * self.n_bytes
        if isinstance(n_bits, bool) or not isinstance(n_bits, (int, np.integer)) or n_bits < 1:
            raise ValueError(f"n_bits must be a positive integer, got {n_bits!r}")
        if -(-n_bits // 8) != self.n_bytes:
            raise ValueError(
                f"codes of {n_bits} bits are packed into {-(-n_bits // 8)} bytes, "
                f"got codes {self.n_bytes} bytes wide"
            )
        self.n_bits = int(n_bits)
        self._check_padding(codes, "codes")
        self.codes = codes
        self._words = _to_words(codes)

    def __len__(self):
        return len(self.codes)

    @staticmethod
    def _check_codes(codes, n_bytes, name):
        codes = np.asarray(codes)
        if codes.dtype != np.uint8:
            raise ValueError(
                f"{name} must be packed bits of dtype uint8 (np.packbits(bits, axis=1)), "
                f"got dtype {codes.dtype}"
            )
        if codes.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n, n_bytes), got shape {codes.shape}")
        if n_bytes is not None and codes.shape[1] != n_bytes:
            raise ValueError(
                f"{name} must be {n_bytes} bytes wide to match the index's "
                f"codes, got width {codes.shape[1]} (shape {codes.shape})"
            )
        return codes

    def _check_padding(self, codes, name):
        """Bits past `n_bits` (the low bits of the last byte, as np.packbits
        pads) must be 0: the distances count every bit of the bytes."""
        pad = 8 * self.n_bytes - self.n_bits
        if pad and len(codes) and np.any(codes[:, -1] & ((1 << pad) - 1)):
            raise ValueError(
                f"{name} has bits set past n_bits={self.n_bits} (the last {pad} bits of its "
                f"last byte): pack {self.n_bits}-bit codes with np.packbits(bits, axis=1), "
                f"or give n_bits={8 * self.n_bytes}"
            )

    def _queries(self, q):
        q = np.asarray(q)
        single = q.ndim == 1
        q = self._check_codes(q[None] if single else q, self.n_bytes, "q")
        self._check_padding(q, "q")
        return _to_words(q), single

    def _blocks(self, q_words):
        """Yields `(start, distances)` for blocks of queries; distances `(B, N)`."""
        n = len(self._words)
        block = max(1, _BLOCK_PAIRS // n)
        dtype = np.uint8 if 8 * self.n_bytes < 256 else np.uint16  # holds any distance
        for start in range(0, len(q_words), block):
            qb = q_words[start : start + block]
            dist = np.zeros((len(qb), n), dtype=dtype)
            for w in range(self._words.shape[1]):
                dist += _popcount(qb[:, w, None] ^ self._words[None, :, w]).astype(dtype)
            yield start, dist

    def distances(self, q):
        """All Hamming distances `(n_queries, N)` (for small problems and tests)."""
        q_words, single = self._queries(q)
        blocks = [d for _, d in self._blocks(q_words)]
        out = np.concatenate(blocks, axis=0) if blocks else np.zeros((0, len(self)))
        out = out.astype(np.int64)
        return out[0] if single else out

    def query(self, q, k, return_distance=True):
        """The `k` nearest database codes of each query.

        Args:
            q: packed query codes, `(n_queries, n_bytes)` uint8 (or one row).
            k: neighbours per query, 1 <= k <= len(index).
            return_distance: also return the distances.

        Returns:
            `indices` (int64 `(n_queries, k)`, nearest first) and, with
            `return_distance`, `distances` (int64, same shape). A 1-D `q`
            gives 1-D results.
        """
        q_words, single = self._queries(q)
        n = len(self._words)
        k = check_k(k, n, "k", "the index")
        idx = np.empty((len(q_words), k), dtype=np.int64)
        dist = np.empty((len(q_words), k), dtype=np.int64)
        width = self.n_bits + 1
        for start, d in self._blocks(q_words):
            # Distances are small integers: a per-row histogram (one bincount
            # over the block, rows offset by `width`) gives each query's k-th
            # smallest distance t, and only the codes at distance <= t are
            # ranked, by (row, distance, index) in one sort. Faster than
            # partitioning every row of the block.
            # int32 offsets halve the memory the bincount reads (int64 when too wide).
            off_dtype = np.int32 if len(d) * width < 2**31 else np.int64
            rows_off = np.arange(len(d), dtype=off_dtype) * width
            hist = np.bincount((d + rows_off[:, None]).ravel(), minlength=len(d) * width)
            t = (np.cumsum(hist.reshape(len(d), width), axis=1) < k).sum(axis=1)
            rows, cols = np.nonzero(d <= t[:, None])
            key = (rows_off[rows] + d[rows, cols]).astype(np.int64) * n + cols
            key.sort()
            # Every row has >= k candidates; its k smallest keys come first.
            first = np.searchsorted(rows, np.arange(len(d)))
            key = key[first[:, None] + np.arange(k)] - rows_off[:, None].astype(np.int64) * n
            idx[start : start + len(d)] = key % n
            dist[start : start + len(d)] = key // n
        if single:
            idx, dist = idx[0], dist[0]
        return (idx, dist) if return_distance else idx

    def within(self, q, radius, return_distance=True):
        """Every database code within Hamming distance `radius` of each query.

        Args:
            q: packed query codes, `(n_queries, n_bytes)` uint8 (or one row).
            radius: the largest distance kept (an int >= 0).
            return_distance: also return the distances.

        Returns:
            A list with one int64 index array per query, nearest first (ties
            by index), and with `return_distance` a matching list of
            distances. A 1-D `q` gives the arrays of that query alone.
        """
        if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
            raise ValueError(f"radius must be an integer >= 0, got {radius!r}")
        q_words, single = self._queries(q)
        indices, distances = [], []
        for _, d in self._blocks(q_words):
            rows, cols = np.nonzero(d <= radius)
            dd = d[rows, cols].astype(np.int64)
            order = np.lexsort((cols, dd, rows))
            rows, cols, dd = rows[order], cols[order], dd[order]
            cuts = np.searchsorted(rows, np.arange(1, len(d)))
            indices.extend(np.split(cols.astype(np.int64), cuts))
            distances.extend(np.split(dd, cuts))
        if single:
            indices, distances = indices[0], distances[0]
        return (indices, distances) if return_distance else indices


def retrieval_precision(neighbors, query_labels, db_labels, empty=0.0):
    """Mean over queries of the fraction of retrieved items that are relevant.

    An item is relevant to a query when they share a label: equal labels for
    1-D label arrays, at least one common topic for 2-D multi-hot arrays
    (Reuters).

    Args:
        neighbors: `(n_queries, k)` indices (from `HammingIndex.query`) or a
            list of index arrays (from `within`).
        query_labels: labels of the queries, `(n_queries,)` or multi-hot
            `(n_queries, n_labels)`.
        db_labels: labels of the database, `(N,)` or `(N, n_labels)`.
        empty: the precision of a query that retrieved nothing (0 by the
            usual convention for "precision within a Hamming radius").

    Returns:
        float, the mean precision.

    Example:
        >>> retrieval_precision(np.array([[0, 1]]), np.array([1]), np.array([1, 2]))
        0.5
    """
    query_labels = check_labels(query_labels, "query_labels")
    db_labels = check_labels(db_labels, "db_labels")
    empty = check_number("empty", empty, 0.0, 1.0 + 1e-12)  # a precision: in [0, 1]
    if query_labels.ndim != db_labels.ndim or query_labels.ndim not in (1, 2):
        raise ValueError(
            "query_labels and db_labels must both be 1-D labels or both 2-D multi-hot; "
            f"got shapes {query_labels.shape} and {db_labels.shape}"
        )
    if isinstance(neighbors, np.ndarray) and neighbors.ndim == 1 and neighbors.dtype == object:
        neighbors = list(neighbors)  # within()'s rows as an array
    if isinstance(neighbors, np.ndarray) and neighbors.ndim != 2:
        raise ValueError(
            "neighbors must be (n_queries, k) indices or a list of index arrays "
            f"(one per query), got an array of shape {neighbors.shape}"
        )
    if len(neighbors) != len(query_labels) or not len(query_labels):
        raise ValueError(
            f"neighbors and query_labels must hold the same, non-zero number of queries; "
            f"got {len(neighbors)} and {len(query_labels)}"
        )
    flat = (
        [np.asarray(nb) for nb in neighbors]
        if not isinstance(neighbors, np.ndarray)
        else [neighbors]
    )
    for nb in flat:
        if nb.size and (
            not np.issubdtype(nb.dtype, np.integer) or nb.min() < 0 or nb.max() >= len(db_labels)
        ):
            # a negative index wrapped around to the end of the database
            raise ValueError(
                f"neighbors must be integer indices in [0, {len(db_labels)}) "
                f"into the database; got {nb.dtype} values from {nb.min()} "
                f"to {nb.max()}"
            )
    multi = query_labels.ndim == 2
    if isinstance(neighbors, np.ndarray) and neighbors.ndim == 2:
        rows = [neighbors[i : i + 1024] for i in range(0, len(neighbors), 1024)]
        total = 0.0
        for b, block in enumerate(rows):
            ql = query_labels[b * 1024 : b * 1024 + len(block)]
            if multi:
                rel = (
                    np.einsum(
                        "ql,qkl->qk",
                        ql.astype(np.float32),
                        db_labels[block].astype(np.float32),
                    )
                    > 0
                )
            else:
                rel = db_labels[block] == ql[:, None]
            total += rel.mean(axis=1).sum() if block.shape[1] else empty * len(block)
        return float(total / len(neighbors))
    precisions = []
    for i, nb in enumerate(neighbors):
        nb = np.asarray(nb, dtype=np.int64)
        if len(nb) == 0:
            precisions.append(empty)
        elif multi:
            precisions.append(float(np.mean(db_labels[nb] @ query_labels[i] > 0)))
        else:
            precisions.append(float(np.mean(db_labels[nb] == query_labels[i])))
    return float(np.mean(precisions))
