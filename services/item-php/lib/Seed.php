<?php
declare(strict_types=1);

namespace ItemPhp;

use Item\V1\Item;

// Seed is the demo's catalogue, generated exactly as the Go services do
// (services/internal/seed): at scale N the five items of the original
// example repeated N times, block b holding ids 5b+1..5b+5 with " #<b+1>"
// after the names of every block but the first. An item is computed from
// its id, so a lookup costs the same at any scale and nothing is kept
// between requests (PHP-FPM shares nothing between them anyway).
final class Seed
{
    // The Go services' --seed-scale bound (config.MaxSeedScale).
    public const MAX_SCALE = 1000;

    private const ITEMS = [
        ['first item', 'The first item of the catalogue'],
        ['second item', 'A second item, much like the first'],
        ['item three', 'The third item, for variety'],
        ['item four', 'Item number four'],
        ['fifth item', 'The fifth and last item'],
    ];

    // scaleFrom reads the SEED_SCALE parameter: 1 when absent. A value the
    // bridge would have refused is a broken setup, not a caller's error.
    public static function scaleFrom(string $param): int
    {
        if ($param === '') {
            return 1;
        }
        $n = filter_var($param, FILTER_VALIDATE_INT);
        if ($n === false || $n < 1 || $n > self::MAX_SCALE) {
            throw new \RuntimeException("SEED_SCALE must be between 1 and " . self::MAX_SCALE . ", got \"$param\"");
        }
        return $n;
    }

    // item returns the item with id at scale, or null when there is none.
    public static function item(int $scale, int $id): ?Item
    {
        if ($id < 1 || $id > count(self::ITEMS) * $scale) {
            return null;
        }
        $block = intdiv($id - 1, count(self::ITEMS));
        [$name, $description] = self::ITEMS[($id - 1) % count(self::ITEMS)];
        return (new Item())
            ->setId($id)
            ->setName($name . ($block === 0 ? '' : ' #' . ($block + 1)))
            ->setDescription($description);
    }

    // items returns every item at scale, ordered by id.
    public static function items(int $scale): array
    {
        $out = [];
        for ($id = 1, $n = count(self::ITEMS) * $scale; $id <= $n; $id++) {
            $out[] = self::item($scale, $id);
        }
        return $out;
    }
}
