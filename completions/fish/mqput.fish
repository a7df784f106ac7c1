# fish completion for mqput(1)

# The first operand is the queue, a directory; later ones are files.
function __mqput_want_queue
    set -l args (commandline -opc)
    set -e args[1]
    set -l skip 0
    for a in $args
        if test $skip = 1
            set skip 0
        else if string match -qr -- '^-[0-9A-Za-z]*[deGKpsW]$' $a
            set skip 1
        else if not string match -q -- '-*' $a
            return 1
        end
    end
    return 0
end

complete -c mqput -s 0 -d 'One message per NUL-terminated record'
complete -c mqput -s c -d 'Create the queue if it does not exist'
complete -c mqput -s d -x -a '30s 5m 1h 1d 7d' -d 'Visible after a delay'
complete -c mqput -s e -x -a '30s 5m 1h 1d 7d 0' -d 'Time to live'
complete -c mqput -s G -x -d 'Ordered group: its messages one at a time, in put order'
complete -c mqput -s g -d 'With -c, create a queue shared by the group'
complete -c mqput -s K -x -d 'Coalescing key: nothing added while one with it waits'
complete -c mqput -s l -d 'One message per line, newline included'
complete -c mqput -s p -x -a '0 1 2 3 4 5 6 7 8 9' -d 'Level: 0 most urgent, 9 least, default 5'
complete -c mqput -s q -d 'Print no ids'
complete -c mqput -s S -d 'Do not sync (throwaway queues)'
complete -c mqput -s s -x -a '64k 1M 10M 0' -d 'Largest message accepted'
complete -c mqput -s W -x -a '30s 5m 1h' -d 'Put, wait for its end, print its result'
complete -c mqput -n __mqput_want_queue -f -a '(__fish_complete_directories)'
