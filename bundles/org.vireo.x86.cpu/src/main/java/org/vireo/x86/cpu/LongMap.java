package org.vireo.x86.cpu;

import java.util.Arrays;
import java.util.function.Consumer;

/** An open-addressing map from long keys to objects, without boxing (the code cache's index). */
final class LongMap<V> {
    private static final long EMPTY = Long.MIN_VALUE;   // never a valid key here (keys are physical addresses)
    private long[] keys;
    private Object[] values;
    private int size;

    LongMap(int capacityPowerOfTwo) {
        keys = new long[capacityPowerOfTwo];
        values = new Object[capacityPowerOfTwo];
        Arrays.fill(keys, EMPTY);
    }

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    @SuppressWarnings("unchecked")
    V get(long key) {
        int mask = keys.length - 1;
        for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) return (V) values[i];
            if (k == EMPTY) return null;
        }
    }

    void put(long key, V value) {
        if ((size + 1) * 2 > keys.length) grow();
        int mask = keys.length - 1;
        for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) { values[i] = value; return; }
            if (k == EMPTY) { keys[i] = key; values[i] = value; size++; return; }
        }
    }

    @SuppressWarnings("unchecked")
    V remove(long key) {
        int mask = keys.length - 1;
        int i = hash(key) & mask;
        while (true) {
            long k = keys[i];
            if (k == EMPTY) return null;
            if (k == key) break;
            i = (i + 1) & mask;
        }
        V old = (V) values[i];
        // Backward-shift deletion keeps probe chains intact without tombstones.
        int hole = i;
        for (int j = (i + 1) & mask; keys[j] != EMPTY; j = (j + 1) & mask) {
            int home = hash(keys[j]) & mask;
            boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = EMPTY;
        values[hole] = null;
        size--;
        return old;
    }

    int size() { return size; }

    void clear() {
        Arrays.fill(keys, EMPTY);
        Arrays.fill(values, null);
        size = 0;
    }

    @SuppressWarnings("unchecked")
    void forEachValue(Consumer<V> action) {
        for (int i = 0; i < keys.length; i++) if (keys[i] != EMPTY) action.accept((V) values[i]);
    }

    private void grow() {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new Object[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                @SuppressWarnings("unchecked") V v = (V) oldValues[i];
                put(oldKeys[i], v);
            }
        }
    }
}
