// Value framing: the header (format version, schema hash, checksum) sealed on cached bytes, its checks, and row and list encoding.

package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unsafe"
)

// Cached values start with a format version, the schema hash and a
// checksum (CRC-32C) of the key and the payload, so bytes of another schema
// (another build of the model: keys do not carry the schema), someone
// else's value, a value moved under another key, or damaged bytes that
// would still decode are recognised and dropped: never served.
const (
	formatVersion = 3
	headerLen     = 9
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// seal writes the checksum of key and the payload into b's header.
func seal(key string, b []byte) []byte {
	binary.BigEndian.PutUint32(b[5:headerLen], checksum(key, b[headerLen:]))
	return b
}

// checksum is the CRC-32C of key then payload. The key is read in place:
// the hot path pays no copy of it.
func checksum(key string, payload []byte) uint32 {
	c := crc32.Checksum(unsafe.Slice(unsafe.StringData(key), len(key)), crcTable)
	return crc32.Update(c, crcTable, payload)
}

// valid reports whether b is a value of this table sealed under key.
func (t *Table[T]) valid(key string, b []byte) bool { return t.check(key, b) == nil }

func (t *Table[T]) encodeRow(key string, row *T) ([]byte, error) {
	b := append(make([]byte, 0, 128), t.hdr.Load()[:]...)
	b, err := t.spec.Mapper.Encode(append(b, 0, 0, 0, 0), row) // checksum sealed below
	if err != nil {
		return nil, fmt.Errorf("cachegen: encode %s row: %w", t.spec.Table, err)
	}
	return seal(key, b), nil
}

func (t *Table[T]) decodeRow(key string, b []byte, row *T) error {
	if err := t.check(key, b); err != nil {
		return err
	}
	if err := t.spec.Mapper.Decode(b[headerLen:], row); err != nil {
		return fmt.Errorf("%w: %w", errUndecodable, err)
	}
	return nil
}

// Why cached bytes could not be read.
var (
	errForeign     = errors.New("cachegen: cached bytes are not a cachegen value")
	errOtherSchema = errors.New("cachegen: cached value of another schema")
	errUndecodable = errors.New("cachegen: cached value is corrupt")
	errChecksum    = errors.New("cachegen: cached value fails its checksum (damaged, or not this key's)")
)

// check verifies the header of cached bytes read under key.
func (t *Table[T]) check(key string, b []byte) error {
	switch {
	case len(b) < headerLen || b[0] != formatVersion:
		return errForeign
	case [5]byte(b[:5]) != *t.hdr.Load():
		return errOtherSchema
	case binary.BigEndian.Uint32(b[5:headerLen]) != checksum(key, b[headerLen:]):
		return errChecksum
	}
	return nil
}

// reasonOf names a decoding failure for events and logs.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, errOtherSchema):
		return "schema"
	case errors.Is(err, errForeign):
		return "foreign"
	case errors.Is(err, errChecksum):
		return "checksum"
	}
	return "decode"
}

// A list is the header, the row count, then each row's length and bytes.
func (t *Table[T]) encodeList(rows []T) ([]byte, error) {
	b := append(make([]byte, 0, 64*len(rows)+16), t.hdr.Load()[:]...)
	b = append(b, 0, 0, 0, 0) // the checksum, sealed below
	b = binary.AppendUvarint(b, uint64(len(rows)))
	var row []byte
	for i := range rows {
		var err error
		row, err = t.spec.Mapper.Encode(row[:0], &rows[i])
		if err != nil {
			return nil, fmt.Errorf("cachegen: encode %s row: %w", t.spec.Table, err)
		}
		b = binary.AppendUvarint(b, uint64(len(row)))
		b = append(b, row...)
	}
	return seal(t.allKey, b), nil
}

func (t *Table[T]) decodeList(b []byte) ([]T, error) {
	if err := t.check(t.allKey, b); err != nil {
		return nil, err
	}
	b = b[headerLen:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, errUndecodable
	}
	b = b[w:]
	rows := make([]T, n)
	for i := range rows {
		size, w := binary.Uvarint(b)
		if w <= 0 || size > uint64(len(b)-w) {
			return nil, errUndecodable
		}
		if err := t.spec.Mapper.Decode(b[w:w+int(size)], &rows[i]); err != nil {
			return nil, fmt.Errorf("%w: %w", errUndecodable, err)
		}
		b = b[w+int(size):]
	}
	if len(b) != 0 {
		return nil, errUndecodable
	}
	return rows, nil
}
